"""``odoo-bin axivox-listen``: receive PBX events over WebSocket instead of webhooks.

For Odoo servers that the PBX cannot reach. One consumer per active account reads the
PBX event stream from the account's cursor and feeds the same ingestion as the webhook;
the cursor is saved in the database with the events, so a restart resumes where it left
off without losing or repeating an event.

Safe to run on several servers at once: a consumer holds a PostgreSQL advisory lock of
its account while it reads the stream; the listeners that do not get it wait as hot
standbys, trying again every ``standby_poll`` seconds, and the first to get it when the
active one dies (PostgreSQL releases the lock with its connection) resumes from the
saved cursor.
"""
import contextlib
import dataclasses
import logging
import sys
import threading

import odoo
from odoo import SUPERUSER_ID, api
from odoo.cli import Command

from ..axivox_api.stream import EventStreamConsumer
from ..transactions import LISTEN_LOCK, own_transaction
from .command_tools import command_parser, database_registry, run_until_stopped

_logger = logging.getLogger(__name__)


# times the events of one stream message may fail to apply before they are quarantined
# and the stream goes on (a fault of the moment, then the same one again)
DELIVERY_ATTEMPTS = 3


@dataclasses.dataclass(eq=False)
class StreamListener:
    """Consume the event streams of the PBX accounts of one database.

    The accounts are read again every ``account_poll`` seconds: a new account, or one
    given its API key, is listened to; a new URL or key is used at once; an account
    archived, or whose key was removed, is no longer listened to."""

    registry: odoo.modules.registry.Registry
    account_ids: list | None = None
    heartbeat: float = 15.0  # seconds
    min_backoff: float = 0.5
    max_backoff: float = 30.0
    standby_poll: float = 1.0
    account_poll: float = 30.0

    def __post_init__(self):
        # account id: the consumer of an account this listener holds
        self.consumers = {}
        self.accounts = []  # the account ids served, actively or as a standby
        self.threads = []
        self.settings = {}  # account id: (url, key), as last read
        self._serving = {}  # account id: its thread
        self._unkeyed = set()  # accounts without a key, said once
        self._failures = {}  # account id: (cursor, failed applies of its message)
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._watcher = None

    def _accounts(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            domain = [("api_url", "!=", False)]
            if self.account_ids:
                domain.append(("id", "in", self.account_ids))
            return [
                (account.id, account.api_url, account.api_key)
                for account in env["axivox.account"].search(domain)
            ]

    def _saved_cursor(self, account_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT event_cursor FROM axivox_account WHERE id = %s", [account_id]
            )
            row = cr.fetchone()
            return row and row[0] or None

    def start(self):
        self._refresh()
        self._watcher = threading.Thread(
            target=self._watch, name="axivox-listen-accounts", daemon=True
        )
        self._watcher.start()
        return self

    def stop(self, timeout=10):
        self._stopping.set()
        with self._guard:
            consumers = list(self.consumers.values())
        for consumer in consumers:
            consumer.stop()
        if self._watcher:
            self._watcher.join(timeout)
        for thread in list(self.threads):
            thread.join(timeout)

    def _watch(self):
        while not self._stopping.wait(self.account_poll):
            try:
                self._refresh()
            except Exception:  # the database restarting: read them at the next turn
                _logger.exception("Could not read the PBX accounts to listen to")

    def _refresh(self):
        """Listen to the accounts as they are configured now."""
        current = {}
        for account_id, url, key in self._accounts():
            if key:
                current[account_id] = (url, key)
                self._unkeyed.discard(account_id)
            elif account_id not in self._unkeyed:
                self._unkeyed.add(account_id)
                _logger.warning(
                    "PBX account %s has no API key: not listening.", account_id
                )
        with self._guard:
            for account_id in list(self.settings):
                if account_id not in current:
                    del self.settings[account_id]
                    consumer = self.consumers.pop(account_id, None)
                    if consumer:
                        consumer.stop()  # its thread ends and releases the lock
            for account_id, settings in current.items():
                changed = self.settings.get(account_id) not in (None, settings)
                self.settings[account_id] = settings
                consumer = self.consumers.get(account_id)
                if changed and consumer:
                    _logger.info(
                        "PBX account %s changed: listening with its new settings.",
                        account_id,
                    )
                    consumer.stop()  # its thread starts one with the new settings
        for account_id in current:
            thread = self._serving.get(account_id)
            if thread is None or not thread.is_alive():
                self._start_account(account_id)

    def _start_account(self, account_id):
        # Its own connection (not the registry's, which tests share): the lock is held
        # on it for as long as this listener consumes the account's stream.
        lock_cr = odoo.sql_db.db_connect(self.registry.db_name).cursor()
        active = self._try_lock(lock_cr, account_id)
        if active:
            self._new_consumer(account_id)
            _logger.info("Listening to the event stream of PBX account %s.", account_id)
        else:
            _logger.info(
                "Another listener reads the event stream of PBX account %s: "
                "standing by.",
                account_id,
            )
        thread = threading.Thread(
            target=self._serve,
            args=(account_id, lock_cr, active),
            name=f"axivox-listen-{account_id}",
            daemon=True,
        )
        thread.start()
        self._serving[account_id] = thread
        if account_id not in self.accounts:
            self.accounts.append(account_id)
        self.threads.append(thread)

    def _try_lock(self, lock_cr, account_id):
        # A session lock: it outlives the commit (which ends the transaction, so that no
        # snapshot is held open) and goes with the connection when the process dies.
        lock_cr.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [LISTEN_LOCK, account_id]
        )
        locked = lock_cr.fetchone()[0]
        lock_cr.commit()
        return locked

    def _new_consumer(self, account_id):
        """A consumer with the account's settings now (None: no longer listened to)."""
        cursor = self._saved_cursor(account_id)
        with self._guard:
            settings = self.settings.get(account_id)
            if settings is None or self._stopping.is_set():
                self.consumers.pop(account_id, None)
                return None
            url, key = settings
            consumer = EventStreamConsumer(
                url,
                key,
                self._handler(account_id),
                cursor=cursor,
                heartbeat=self.heartbeat,
                min_backoff=self.min_backoff,
                max_backoff=self.max_backoff,
                on_bad_message=self._bad_message_handler(account_id),
            )
            self.consumers[account_id] = consumer
            return consumer

    def _serve(self, account_id, lock_cr, active):
        """Consume the account's stream while holding its lock; else stand by for it.
        A consumer stopped for new settings is followed by one with them."""
        try:
            while not self._stopping.is_set():
                if not active:
                    if self._stopping.wait(self.standby_poll):
                        break
                    if account_id not in self.settings:
                        break
                    active = self._try_lock(lock_cr, account_id)
                    if not active:
                        continue
                    _logger.info(
                        "Took over the event stream of PBX account %s.", account_id
                    )
                    self._new_consumer(account_id)
                with self._guard:
                    consumer = self.consumers.get(account_id)
                if consumer is None or consumer.stopped:
                    consumer = self._new_consumer(account_id)
                if consumer is None:
                    break  # no longer listened to
                consumer.run()
        finally:
            try:
                if active:
                    lock_cr.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", [LISTEN_LOCK, account_id]
                    )
                    lock_cr.commit()
            finally:
                lock_cr.close()

    def _handler(self, account_id):
        def on_events(events, cursor):
            # The events and the cursor are committed together: a listener that takes
            # over resumes exactly after the last event stored. An invalid event is
            # quarantined (one bad event never blocks the stream) and the cursor moves
            # past it. Events that fail to apply DELIVERY_ATTEMPTS times in a row are
            # quarantined with the error, and the stream goes on.
            # As Odoo's own workers do: the registry reloaded after a module update,
            # the caches that other processes cleared cleared here too.
            self.registry = self.registry.check_signaling()
            try:
                with self._account_transaction(account_id) as own_account:
                    own_account.env["axivox.event.intake"]._take_in(
                        own_account, events, "stream"
                    )
                    own_account._advance_cursor(cursor)
            except Exception as exc:
                # the failures of this message in a row (an account's stream delivers
                # one message at a time)
                last, failures = self._failures.get(account_id, (None, 0))
                failures = failures + 1 if last == cursor else 1
                self._failures[account_id] = (cursor, failures)
                if failures < DELIVERY_ATTEMPTS:
                    raise
                detail = f"{exc.__class__.__name__}: {str(exc)[:200]}"
                _logger.warning(
                    "The events of stream message %s of PBX account %s failed to "
                    "apply %s times (%s): quarantined",
                    cursor,
                    account_id,
                    failures,
                    exc.__class__.__name__,
                )
                self._quarantine(
                    account_id,
                    [(event, detail) for event in events],
                    cursor,
                )
            self._failures.pop(account_id, None)

        return on_events

    def _bad_message_handler(self, account_id):
        def on_bad_message(raw, reason, cursor):
            _logger.warning(
                "PBX account %s sent a stream message Odoo cannot read (%s): "
                "quarantined",
                account_id,
                reason,
            )
            self._quarantine(account_id, [({"stream_message": raw}, reason)], cursor)

        return on_bad_message

    def _quarantine(self, account_id, rejected, cursor):
        """Quarantine ``rejected`` (``(item, reason)`` pairs) and move the account's
        cursor past their message (``cursor``: None when it could not be read)."""
        with self._account_transaction(account_id) as own_account:
            own_account.env["axivox.queue.event.quarantine"]._quarantine(
                own_account, rejected, "stream"
            )
            if cursor is not None:
                own_account._advance_cursor(cursor)

    @contextlib.contextmanager
    def _account_transaction(self, account_id):
        """The account ``account_id`` in a transaction of its own (committed when the
        block ends, rolled back when it raises), with the registry's changes
        signalled to the other processes."""
        with self.registry.manage_changes(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            account = env["axivox.account"].browse(account_id)
            with own_transaction(account.env) as own_env:
                yield account.with_env(own_env)


class AxivoxListen(Command):
    """Receive Axivox PBX queue events over WebSocket (when the PBX cannot reach
    Odoo)"""

    name = "axivox-listen"

    def run(self, args):
        parser = command_parser(self)
        parser.add_argument(
            "--account",
            type=int,
            action="append",
            dest="accounts",
            help="listen for this account id only (repeatable)",
        )
        parser.add_argument(
            "--heartbeat",
            type=float,
            default=15.0,
            help="seconds between heartbeats (default %(default)s)",
        )
        parser.add_argument(
            "--account-poll",
            type=float,
            default=30.0,
            help="seconds between two readings of the PBX accounts: new accounts, "
            "URLs and keys are used without a restart (default %(default)s)",
        )
        parser.add_argument(
            "--standby-poll",
            type=float,
            default=1.0,
            help="seconds between two tries of a standby listener to take "
            "over an account (default %(default)s)",
        )
        opts, odoo_args = parser.parse_known_args(args)
        registry = database_registry(self.name, odoo_args)
        listener = StreamListener(
            registry,
            opts.accounts,
            heartbeat=opts.heartbeat,
            standby_poll=opts.standby_poll,
            account_poll=opts.account_poll,
        ).start()
        if not listener.accounts:
            sys.exit("No PBX account with an API URL and key to listen to.")
        run_until_stopped()
        _logger.info("Stopping the PBX event listeners.")
        listener.stop()
