"""``odoo-bin axivox-apply``: apply the webhook deliveries in large batches.

While it runs, a webhook delivery is checked, stored and answered at once, and this
process applies the stored deliveries within moments, many in one transaction (see
models/axivox_queue_event_inbox.py). Without it, each delivery is applied before it is
answered. Run it as a service beside Odoo (docs/deployment.md).

Safe to run on several servers at once: the applier holds a PostgreSQL advisory lock of
the database; the others wait for it in PostgreSQL's queue as hot standbys, and the
first in the queue when the active one dies (PostgreSQL releases the lock with its
connection) applies what was left at once.
"""
import dataclasses
import logging
import select
import sys
import threading
import time

import psycopg2

import odoo
from odoo import SUPERUSER_ID, api
from odoo.cli import Command

from ..models.axivox_queue_event_inbox import APPLY_CHANNEL
from ..transactions import APPLY_LOCK
from .command_tools import command_parser, database_registry, run_until_stopped

_logger = logging.getLogger(__name__)
RETRY_PAUSE = 1.0  # seconds, after an apply failed
STOP_CHECK = 0.2  # seconds: how long stop() waits at most for the applier to see it


@dataclasses.dataclass(eq=False)
class InboxApplier:
    """Apply the waiting webhook deliveries of one database, woken by their NOTIFY."""

    registry: odoo.modules.registry.Registry
    # under load (the last apply found more than one delivery waiting), at least this
    # many seconds from the end of an apply to the next: deliveries gather into larger
    # batches (cheaper an event); otherwise a delivery is applied at once
    gather: float = 0.25
    gather_events: int = 200  # ... unless this many events wait already
    idle_check: float = 5.0  # seconds between two looks when nothing woke it

    def __post_init__(self):
        self.active = False
        self.applied = 0  # deliveries applied
        self._applied_at = 0.0
        self._last_batch = 0  # deliveries the last apply found
        self.thread = None
        self._stopping = threading.Event()
        self._waiting = None  # the connection that waits for the lock, while it waits
        self._waiting_guard = threading.Lock()

    def start(self):
        self.thread = threading.Thread(
            target=self._serve, name="axivox-apply", daemon=True
        )
        self.thread.start()
        return self

    def stop(self, timeout=10):
        self._stopping.set()
        deadline = time.monotonic() + timeout
        while self.thread and self.thread.is_alive() and time.monotonic() < deadline:
            with self._waiting_guard:
                if self._waiting is not None:
                    self._waiting.cancel()  # a standby, waiting for the lock
            self.thread.join(0.1)

    def _serve(self):
        # Its own connection (not the registry's, which tests share): the lock is held
        # on it, and the NOTIFY of the deliveries is received on it.
        lock_cr = odoo.sql_db.db_connect(self.registry.db_name).cursor()
        try:
            while not self._stopping.is_set():
                if not self.active:
                    if not self._take_lock(lock_cr):
                        continue  # cancelled: stopping
                    _logger.info(
                        "Applying the webhook deliveries of %s.", lock_cr.dbname
                    )
                try:
                    self._apply()
                except Exception:
                    # the database restarting, a bug: what waits is kept; try again
                    _logger.exception("Could not apply the waiting webhook deliveries")
                    self._stopping.wait(RETRY_PAUSE)
                self._wait(lock_cr)
        except psycopg2.errors.QueryCanceled:
            if not self._stopping.is_set():
                _logger.exception("The webhook applier stopped")
                raise
            # stop() cancelled the wait for the lock just as it was granted
        except Exception:
            _logger.exception("The webhook applier stopped")
            raise
        finally:
            # Odoo's pool keeps the connection: release the lock and stop listening (a
            # process that dies loses them with its connection)
            try:
                lock_cr.rollback()
                if self.active:
                    lock_cr.execute("UNLISTEN *")
                    lock_cr.execute("SELECT pg_advisory_unlock(%s, 0)", [APPLY_LOCK])
                    lock_cr.commit()
                    self.active = False
            finally:
                lock_cr.close()

    def _take_lock(self, lock_cr):
        """Wait for the lock, for as long as another applier holds it (stop() cancels
        the wait); returns whether this applier holds it. A session lock: it outlives
        the commit (which ends the transaction, so that no snapshot is held open).
        Waiting in PostgreSQL's queue, a standby takes over the moment the active
        applier dies, and the deliveries that apply their own events (they hold the
        lock in shared mode, see _store_if_applier) are stored for it from then on:
        those in progress end, then it holds the lock. LISTEN takes effect at the
        commit."""
        with self._waiting_guard:
            if self._stopping.is_set():
                return False
            self._waiting = lock_cr._cnx
        try:
            lock_cr.execute(
                "SELECT pg_advisory_lock(%s, 0)", [APPLY_LOCK], log_exceptions=False
            )
            self.active = True  # from here on, _serve releases it whatever happens
        except psycopg2.errors.QueryCanceled:
            lock_cr.rollback()
            return False
        finally:
            with self._waiting_guard:
                self._waiting = None
        lock_cr.execute(f"LISTEN {APPLY_CHANNEL}")
        lock_cr.commit()
        return True

    def _apply(self):
        try:
            # As Odoo's own workers do: the registry reloaded after a module update,
            # the caches that other processes cleared cleared here too.
            self.registry = self.registry.check_signaling()
            with self.registry.manage_changes(), self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                self._last_batch = env["axivox.queue.event.inbox"]._apply_waiting()
                self.applied += self._last_batch
        finally:
            self._applied_at = time.monotonic()

    def _wait(self, lock_cr):
        """Until a delivery is stored (or ``idle_check``); then, under load, until
        ``gather`` seconds after the last apply, unless ``gather_events`` events wait
        already (each delivery's NOTIFY carries its number of events)."""
        cnx = lock_cr._cnx
        self._sleep(cnx, self.idle_check)
        gather = self.gather if self._last_batch > 1 else 0
        waiting = 0
        while not self._stopping.is_set():
            cnx.poll()
            waiting += sum(_event_count(notify.payload) for notify in cnx.notifies)
            cnx.notifies.clear()
            rest = gather - (time.monotonic() - self._applied_at)
            if rest <= 0 or waiting >= self.gather_events:
                return
            self._sleep(cnx, rest)

    def _sleep(self, cnx, seconds):
        """Until a NOTIFY comes, ``seconds`` pass, or stop() is called."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0 or select.select([cnx], [], [], min(left, STOP_CHECK))[0]:
                return


def _event_count(payload):
    return int(payload) if payload.isdigit() else 1


class AxivoxApply(Command):
    """Apply the Axivox PBX webhook deliveries in batches (answer the PBX at once)"""

    name = "axivox-apply"

    def run(self, args):
        parser = command_parser(self)
        parser.add_argument(
            "--gather",
            type=float,
            default=InboxApplier.gather,
            help="under load, at least these seconds between two applies, for "
            "deliveries to gather into batches, unless "
            f"{InboxApplier.gather_events} events wait (default %(default)s)",
        )
        opts, odoo_args = parser.parse_known_args(args)
        registry = database_registry(self.name, odoo_args)
        applier = InboxApplier(registry, gather=opts.gather).start()
        _logger.info("Waiting to apply the webhook deliveries of %s.", registry.db_name)
        signalled = run_until_stopped(applier.thread.is_alive)
        _logger.info("Stopping the webhook applier.")
        applier.stop()
        if not signalled:
            sys.exit("The webhook applier stopped on an error.")
