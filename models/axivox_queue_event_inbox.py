"""axivox.queue.event.inbox: webhook deliveries stored at once, applied by the applier.

When an applier runs (``odoo-bin axivox-apply``, see cli/axivox_apply.py), a webhook
delivery is only checked (signature, schema), stored here in one statement and answered;
the applier hands what is waiting, in large batches, to the route every delivery takes
(``axivox.event.intake._apply``), which costs a fraction of applying each delivery on
its own. Without an applier, each delivery is applied before it is answered. The cron
applies what an applier left behind (it died, it was stopped), so nothing stored here
is ever lost.
"""
import json
import logging

import psycopg2

from odoo import _, api, fields, models

from ..transactions import APPLY_LOCK, CONCURRENCY_ERRORS, own_transaction

_logger = logging.getLogger(__name__)

# APPLY_LOCK (transactions.py) is held by the one running applier of the database. A
# webhook delivery is stored here only while it is held (or an applier waits for it),
# so that someone applies it within moments; a delivery that applies its own events
# holds it in shared mode until it commits.
# the NOTIFY channel that wakes the applier when a delivery is stored
APPLY_CHANNEL = "axivox_inbox"
# deliveries, and events, applied in one transaction at most (one delivery at least)
APPLY_ROWS = 500
APPLY_EVENTS = 5000
# A delivery that meets a fault of the moment (a statement timeout, a full disk, no
# memory, a lost connection) is tried again later, after 2, 4, 8... seconds (at most
# RETRY_MAX_DELAY); it is quarantined only when it failed so TRANSIENT_ATTEMPTS times.
TRANSIENT_ATTEMPTS = 5
RETRY_MAX_DELAY = 300
# SQLSTATE classes of such faults: connection exception, insufficient resources,
# operator intervention (statement timeout, shutdown), system error
TRANSIENT_CLASSES = ("08", "53", "57", "58")


def is_transient(exc):
    """Whether ``exc`` is a fault of the moment, which the same work may not meet
    again: trying again later is right, quarantining the delivery is not."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        code = exc.pgcode
        return not code or code[:2] in TRANSIENT_CLASSES
    return False


class AxivoxQueueEventInbox(models.Model):
    """The validated events of one webhook delivery, waiting for the applier."""

    _name = "axivox.queue.event.inbox"
    _description = "PBX Events Waiting to Be Applied"
    _order = "id"
    _log_access = False

    account_id = fields.Many2one(
        "axivox.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    events = fields.Json(readonly=True)
    received_at = fields.Datetime(readonly=True)
    # faults of the moment met so far, the last one, and when to try again
    attempts = fields.Integer(readonly=True, default=0)
    last_error = fields.Char(readonly=True)
    next_try = fields.Datetime(readonly=True)

    @api.model
    def _store_if_applier(self, account, events):
        """Store ``events`` (validated) of ``account`` if an applier runs, and wake it.
        Returns True when they were stored (the applier applies them), False when no
        applier runs (the caller applies them, in this transaction). One statement: it
        asks for the applier's lock in shared mode, without waiting. Refused, an applier
        holds it (or waits for it, to take over): the events are stored. Granted, no
        applier runs, and none can start until this transaction ends (an applier that
        starts waits for it). The row's foreign key takes a KEY SHARE lock of the
        account, which only a change of its keys conflicts with (the sync locks it FOR
        NO KEY UPDATE); such a rare conflict is raised, unlogged, for the caller to
        answer (503)."""
        self.env.cr.execute(
            """
            WITH stored AS (
                INSERT INTO axivox_queue_event_inbox (account_id, events, received_at)
                SELECT %s, %s, now() at time zone 'UTC'
                 WHERE NOT pg_try_advisory_xact_lock_shared(%s, 0)
                RETURNING id
            )
            SELECT pg_notify(%s, %s) FROM stored
            """,
            [
                account.id,
                json.dumps(events, ensure_ascii=False),
                APPLY_LOCK,
                APPLY_CHANNEL,
                str(len(events)),  # the applier counts what waits
            ],
            log_exceptions=False,
        )
        return bool(self.env.cr.fetchall())

    @api.model
    def _apply_waiting(self, rows=APPLY_ROWS):
        """Apply what is waiting, each account's deliveries in transactions of their
        own (``rows`` deliveries a transaction at most). Returns how many deliveries
        were applied (or quarantined)."""
        self.env.cr.execute("SELECT DISTINCT account_id FROM axivox_queue_event_inbox")
        done = 0
        Account = self.env["axivox.account"].sudo()
        for (account_id,) in self.env.cr.fetchall():
            account = Account.browse(account_id)
            more = True
            while more:
                try:
                    count, more = self._apply_batch(account, rows)
                except psycopg2.OperationalError as exc:
                    if exc.pgcode not in CONCURRENCY_ERRORS:
                        raise
                    # rolled back, nothing lost: the next run applies them
                    _logger.info(
                        "Applying waiting webhook events of PBX account %s conflicted "
                        "with another transaction (%s): left for the next run",
                        account_id,
                        exc.pgcode,
                    )
                    break
                done += count
        return done

    @api.model
    def _apply_batch(self, account, rows, max_events=APPLY_EVENTS):
        """Apply the oldest waiting deliveries of ``account`` in a transaction of its
        own: at most ``rows`` of them and ``max_events`` events (one delivery at
        least). Returns ``(how many, whether more may wait)``. Deliveries another
        transaction is applying are skipped. When the batch cannot be applied whole,
        each delivery is applied apart and the one that fails is quarantined with the
        error, so that it never blocks the others."""
        with own_transaction(account.env) as env:
            account = account.with_env(env)
            cr = env.cr
            cr.execute(
                """SELECT id, jsonb_array_length(events)
                     FROM axivox_queue_event_inbox
                    WHERE account_id = %s
                      AND (next_try IS NULL OR next_try <= now() at time zone 'UTC')
                    ORDER BY id LIMIT %s
                      FOR UPDATE SKIP LOCKED""",
                [account.id, rows],
            )
            locked = cr.fetchall()
            ids, total = [], 0
            for row_id, count in locked:
                if ids and total + count > max_events:
                    break
                ids.append(row_id)
                total += count
            if not ids:
                return 0, False
            cr.execute(
                "SELECT id, events, attempts FROM axivox_queue_event_inbox"
                " WHERE id IN %s ORDER BY id",
                [tuple(ids)],
            )
            waiting = cr.fetchall()
            Inbox = env["axivox.queue.event.inbox"]  # in this transaction
            done = [row_id for row_id, _events, _attempts in waiting]
            try:
                with cr.savepoint():
                    env["axivox.event.intake"]._apply(
                        account,
                        [e for _id, events, _a in waiting for e in events],
                        "webhook",
                    )
            except psycopg2.OperationalError as exc:
                if exc.pgcode in CONCURRENCY_ERRORS:
                    raise
                done = Inbox._apply_apart(account, waiting, exc)
            except Exception as exc:  # noqa: BLE001 - any fault is handled, never blocks
                done = Inbox._apply_apart(account, waiting, exc)
            if done:
                cr.execute(
                    "DELETE FROM axivox_queue_event_inbox WHERE id IN %s",
                    [tuple(done)],
                )
            return len(done), len(ids) < len(locked) or len(locked) == rows

    @api.model
    def _apply_apart(self, account, waiting, batch_error):
        """After the batch ``waiting`` failed with ``batch_error``: each delivery
        apart. A fault of the moment postpones the delivery (see TRANSIENT_ATTEMPTS),
        or quarantines it when it met one that many times; any other fault
        quarantines it. Returns the ids of the deliveries done with (applied or
        quarantined)."""
        Intake = self.env["axivox.event.intake"]
        if is_transient(batch_error):
            # the whole batch met it: tried again later, apart, unless it is their last
            # attempt
            later = [w for w in waiting if w[2] + 1 < TRANSIENT_ATTEMPTS]
            self._postpone([w[0] for w in later], batch_error)
            waiting = [w for w in waiting if w[2] + 1 >= TRANSIENT_ATTEMPTS]
        done = []
        for row_id, events, attempts in waiting:
            try:
                with self.env.cr.savepoint():
                    Intake._apply(account, events, "webhook")
            except psycopg2.OperationalError as exc:
                if exc.pgcode in CONCURRENCY_ERRORS:
                    raise
                if is_transient(exc) and attempts + 1 < TRANSIENT_ATTEMPTS:
                    self._postpone([row_id], exc)
                    continue
                self._quarantine_delivery(account, row_id, events, exc)
            except Exception as exc:  # noqa: BLE001 - see _apply_batch
                if is_transient(exc) and attempts + 1 < TRANSIENT_ATTEMPTS:
                    self._postpone([row_id], exc)
                    continue
                self._quarantine_delivery(account, row_id, events, exc)
            done.append(row_id)
        return done

    @api.model
    def _postpone(self, row_ids, exc):
        """Try the deliveries ``row_ids`` again later: one more attempt, and a wait
        twice as long as the last."""
        if not row_ids:
            return
        _logger.info(
            "Applying waiting webhook deliveries %s met a fault of the moment (%s): "
            "tried again later",
            row_ids,
            exc.__class__.__name__,
        )
        self.env.cr.execute(
            """UPDATE axivox_queue_event_inbox
                  SET attempts = attempts + 1, last_error = %s,
                      next_try = now() at time zone 'UTC'
                          + least(%s, 2 ^ (attempts + 1)) * interval '1 second'
                WHERE id IN %s""",
            [
                f"{exc.__class__.__name__}: {str(exc)[:200]}",
                RETRY_MAX_DELAY,
                tuple(row_ids),
            ],
        )

    @api.model
    def _quarantine_delivery(self, account, row_id, events, exc):
        _logger.warning(
            "Could not apply waiting webhook delivery %s of PBX account %s (%s): "
            "quarantined",
            row_id,
            account.id,
            exc.__class__.__name__,
        )
        detail = f"{exc.__class__.__name__}: {str(exc)[:200]}"
        reason = _("Odoo could not apply this event: %(error)s", error=detail)
        self.env["axivox.queue.event.quarantine"]._quarantine(
            account, [(event, reason) for event in events], "webhook"
        )

    @api.model
    def _cron_apply_waiting(self):
        """Apply what an applier left behind (stopped, or died before applying); forget
        the webhook deliveries received long ago."""
        self._apply_waiting()
        self.env["axivox.webhook.delivery"]._forget_old()
