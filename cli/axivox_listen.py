"""``odoo-bin axivox-listen``: receive PBX events over WebSocket instead of webhooks.

For Odoo servers that the PBX cannot reach. One consumer per active account reads the
PBX event stream from the account's cursor and feeds the same ingestion as the webhook;
the cursor is saved in the database with the events, so a restart resumes where it left
off without losing or repeating an event.
"""
import argparse
import logging
import signal
import sys
import threading
import time

import odoo
from odoo import SUPERUSER_ID, api
from odoo.cli import Command
from odoo.tools import config

from ..axivox_api.events import EventSchemaError, validate_event
from ..axivox_api.stream import EventStreamConsumer

_logger = logging.getLogger(__name__)


class StreamListener:
    """Consume the event streams of the PBX accounts of one database."""

    def __init__(self, registry, account_ids=None, heartbeat=15.0, min_backoff=0.5,
                 max_backoff=30.0):
        self.registry = registry
        self.account_ids = account_ids
        self.heartbeat = heartbeat
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.consumers = {}
        self.threads = []

    def _accounts(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            domain = [("api_url", "!=", False)]
            if self.account_ids:
                domain.append(("id", "in", self.account_ids))
            return [
                (account.id, account.api_url, account.api_key, account.event_cursor)
                for account in env["axivox.account"].search(domain)
            ]

    def start(self):
        for account_id, url, key, cursor in self._accounts():
            if not key:
                _logger.warning("PBX account %s has no API key: not listening.", account_id)
                continue
            consumer = EventStreamConsumer(
                url, key, self._handler(account_id), cursor=cursor or None,
                heartbeat=self.heartbeat, min_backoff=self.min_backoff,
                max_backoff=self.max_backoff,
            )
            self.consumers[account_id] = consumer
            thread = threading.Thread(
                target=consumer.run, name=f"axivox-listen-{account_id}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
            _logger.info("Listening to the event stream of PBX account %s.", account_id)
        return self

    def stop(self, timeout=10):
        for consumer in self.consumers.values():
            consumer.stop()
        for thread in self.threads:
            thread.join(timeout)

    def _handler(self, account_id):
        def on_events(events, cursor):
            valid = []
            for event in events:
                try:
                    valid.append(validate_event(event))
                except EventSchemaError as exc:
                    # One bad event must not block the stream forever: it is skipped, said.
                    _logger.error("PBX account %s sent an invalid event, skipped: %s",
                                  account_id, exc)
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                account = env["axivox.account"].browse(account_id)
                if valid:
                    env["axivox.queue.event"]._ingest(account, valid, "stream")
                account._advance_cursor(cursor)
        return on_events


class AxivoxListen(Command):
    """Receive Axivox PBX queue events over WebSocket (when the PBX cannot reach Odoo)"""

    name = "axivox-listen"

    def run(self, args):
        parser = argparse.ArgumentParser(
            prog=f"{sys.argv[0].split('/')[-1]} axivox-listen",
            description=self.__doc__,
        )
        parser.add_argument("--account", type=int, action="append", dest="accounts",
                            help="listen for this account id only (repeatable)")
        parser.add_argument("--heartbeat", type=float, default=15.0,
                            help="seconds between heartbeats (default 15)")
        opts, odoo_args = parser.parse_known_args(args)
        config.parse_config(odoo_args)
        odoo.cli.server.report_configuration()
        dbname = config["db_name"]
        if not dbname or "," in dbname:
            sys.exit("axivox-listen needs exactly one database: -d DATABASE")
        registry = odoo.registry(dbname)
        listener = StreamListener(registry, opts.accounts, heartbeat=opts.heartbeat).start()
        if not listener.consumers:
            sys.exit("No PBX account with an API URL and key to listen to.")
        stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        while not stopping.is_set():
            time.sleep(0.5)
        _logger.info("Stopping the PBX event listeners.")
        listener.stop()
