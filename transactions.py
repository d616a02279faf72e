"""Transactions and locks of the addon, in one place: the PostgreSQL advisory locks that
order the work on an account, the transaction of its own that the webhooks, the applier,
the listener, the sync and the managers' actions run in, and the database errors a retry
solves.

The controller, the commands (cli/) and the models import it; it imports no model.
"""
import contextlib

import psycopg2
from psycopg2 import errorcodes
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import sql_db

# pg_advisory_xact_lock(EVENTS_LOCK, account id): held by whoever changes the account's
# events or login states (webhooks, applier, stream, sync, managers), to the end of its
# transaction. Taken before the account's row lock, always: one order, no deadlock.
EVENTS_LOCK = 0x41584951  # "AXIQ"

# pg_advisory_lock(APPLY_LOCK, 0), a session lock: held by the one running webhook
# applier of the database, for as long as it runs (see axivox.queue.event.inbox).
APPLY_LOCK = 0x41584150  # "AXAP"

# pg_try_advisory_lock(LISTEN_LOCK, account id), a session lock: held by the one
# listener of an account's event stream.
LISTEN_LOCK = 0x41584C53  # "AXLS"

# Conflicts between concurrent transactions, solved by trying again.
CONCURRENCY_ERRORS = frozenset(
    (
        errorcodes.SERIALIZATION_FAILURE,
        errorcodes.DEADLOCK_DETECTED,
        errorcodes.LOCK_NOT_AVAILABLE,
    )
)


class SyncBusy(Exception):
    """Another transaction is syncing this account: skip, the next run retries."""


@contextlib.contextmanager
def own_transaction(env):
    """An environment like ``env`` (same user, same context) on a new transaction,
    committed when the block ends (rolled back on an exception). It reads what is
    committed at each statement (READ COMMITTED): work that starts by taking a lock
    sees everything committed before it got it, so concurrent webhooks, syncs and
    listeners never fail on each other's rows.

    The cursor is the registry's: in Odoo's test mode (an HttpCase, or a test that
    entered it) that is Odoo's test cursor, on the test's transaction, whose commit and
    rollback Odoo turns into savepoints; its isolation is the test's."""
    with env.registry.cursor() as cr:
        if not isinstance(cr, sql_db.TestCursor):
            # Its BEGIN says it (psycopg2): no statement of its own. Odoo sets its
            # REPEATABLE READ again on the next cursor of this connection.
            cr._cnx.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
        yield env(cr=cr)


def lock_events(env, account_ids):
    """Wait for the events lock (see EVENTS_LOCK) of each of ``account_ids``, in
    ``env``'s transaction: changes of an account's events and login states are applied
    one transaction at a time. In READ COMMITTED (see :func:`own_transaction`), what
    was committed before it was granted is then read."""
    for account_id in account_ids:
        env.cr.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [EVENTS_LOCK, account_id]
        )


def lock_for_sync(env, account_id):
    """The events lock of the account, then its row FOR NO KEY UPDATE, without waiting:
    two syncs of the account exclude each other (the second raises :class:`SyncBusy`),
    and a webhook delivery stored meanwhile (its foreign key's KEY SHARE lock) is not
    refused."""
    lock_events(env, [account_id])
    try:
        env.cr.execute(
            "SELECT id FROM axivox_account WHERE id = %s FOR NO KEY UPDATE NOWAIT",
            [account_id],
            log_exceptions=False,
        )
    except psycopg2.OperationalError as exc:
        if exc.pgcode not in CONCURRENCY_ERRORS:
            raise
        raise SyncBusy() from exc
