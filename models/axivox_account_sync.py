"""The sync of axivox.account with its PBX.

The account record (its configuration, its PBX client) is in axivox_account.py; this
file makes Odoo true to the PBX: queues, memberships and login states, and the events
the webhooks may have missed (read from the PBX's feed after the account's cursor).
"""

import logging
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import _as_validation_error

from ..axivox_api import exceptions as pbx_errors
from ..axivox_api import rules
from ..axivox_api.events import odoo_datetime, parse_timestamp
from ..transactions import CONCURRENCY_ERRORS, SyncBusy, lock_for_sync, own_transaction
from .axivox_account import error_text

_logger = logging.getLogger(__name__)


def _cursor_after(cursor, previous):
    """Whether the feed cursor ``cursor`` is past ``previous`` (numeric cursors compared
    as numbers; an opaque one only has to differ)."""
    if previous in (None, "", False):
        return True
    if str(cursor).isdigit() and str(previous).isdigit():
        return int(cursor) > int(previous)
    return str(cursor) != str(previous)


class AxivoxAccount(models.Model):
    # One file a concern on purpose (here the account sync), as OCA connector keeps a
    # backend apart from its sync; the check is optional in the OCA template.
    _inherit = "axivox.account"  # pylint: disable=consider-merging-classes-inherited

    def action_sync_now(self):
        """Sync at once. A failure is recorded on the account and shown, not raised:
        raising would roll back the record of the error with everything else."""
        self.check_access_rights("read")
        self.check_access_rule("read")
        errors = [
            error
            for error in (account.sudo()._sync_guarded() for account in self)
            if error
        ]
        return self._result_notification(errors, _("Odoo is in sync with the PBX."))

    @api.model
    def _cron_sync(self):
        """Sync every account that is due; one account failing does not stop the others.
        Each account is synced and committed in a transaction of its own."""
        now = fields.Datetime.now()
        for account in self.sudo().search([("active", "=", True)]):
            due = not account.last_sync or (
                account.last_sync + timedelta(minutes=account.sync_interval) <= now
            )
            if due:
                account._sync_guarded()

    def _sync_guarded(self):
        """:meth:`_sync_committed`, whatever happens: an error nobody foresaw is logged
        and recorded on the account (in a transaction of its own), and the cron goes on
        with the next account. Returns the error message, or None."""
        self.ensure_one()
        try:
            return self._sync_committed()
        except Exception as exc:  # pylint: disable=broad-except
            _logger.exception("Sync of PBX account %s (%s) failed", self.id, self.name)
            detail = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            message = _(
                "Sync of %(account)s failed: %(message)s",
                account=self.name,
                message=detail,
            )
            with own_transaction(self.env) as env:
                self.with_env(env).write(
                    {
                        "sync_state": "error",
                        "last_error": message,
                        "last_sync": fields.Datetime.now(),
                    }
                )
            return message

    def _sync_committed(self):
        """:meth:`_sync_safely` in a transaction of its own. Returns the error message,
        or None."""
        self.ensure_one()
        with own_transaction(self.env) as env:
            return self.with_env(env)._sync_safely()

    def _sync_safely(self):
        """Sync, or record why it failed. Returns the error message, or None.

        The PBX is read first, holding no lock (its retries may wait); then the account
        is locked (another sync running: skipped, and said) and the changes applied. A
        conflict with a concurrent transaction (a serialization failure, a deadlock, a
        unique constraint) rolls the sync back and is recorded as its failure: the next
        run retries from the same cursor, and the other accounts are synced."""
        self.ensure_one()
        try:
            client = self._pbx_client()
            fetched = self._sync_fetch(client)
            with self.env.cr.savepoint():
                lock_for_sync(self.env, self.id)
            stuck = self._sync_apply(*fetched)
        except SyncBusy:
            return _(
                "A sync of %(account)s is already running: try again in a moment.",
                account=self.name,
            )
        except (pbx_errors.AxivoxError, UserError, ValidationError) as exc:
            message = (
                self._pbx_error_message(exc)
                if isinstance(exc, pbx_errors.AxivoxError)
                else error_text(exc)
            )
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"{exc.__class__.__name__}: {str(exc)[:80]}"
            message = _(
                "The PBX sent an answer Odoo cannot read (%(error)s).", error=detail
            )
        except psycopg2.IntegrityError as exc:
            message = error_text(_as_validation_error(self.env, exc))
        except psycopg2.OperationalError as exc:
            if exc.pgcode not in CONCURRENCY_ERRORS:
                raise
            message = _(
                "Another transaction changed the same records at the same time; "
                "the next sync retries."
            )
        else:
            if not stuck:
                return None
            return _(
                "Sync of %(account)s failed: %(message)s",
                account=self.name,
                message=stuck,
            )
        _logger.warning(
            "Sync of PBX account %s (%s) failed: %s", self.id, self.name, message
        )
        self.write(
            {
                "sync_state": "error",
                "last_error": message,
                "last_sync": fields.Datetime.now(),
            }
        )
        return _(
            "Sync of %(account)s failed: %(message)s",
            account=self.name,
            message=message,
        )

    def _sync_fetch(self, client, page_size=1000, max_pages=100):
        """Read from the PBX what a sync needs: queues, agents and the pages of events
        since the cursor, at most ``max_pages`` (the next run goes on). Returns
        ``(queues, agents, pages, stuck)``: ``pages`` are ``(events, next cursor)``;
        ``stuck`` is the error message when the PBX repeated a cursor (the backfill
        stopped there), else None."""
        remote_queues = client.list_queues()
        remote_agents = client.list_agents()
        pages = []
        stuck = None
        cursor = self.event_cursor or None
        for _page in range(max_pages):
            events, next_cursor, has_more = client.events_since(cursor, limit=page_size)
            pages.append((events, next_cursor))
            if not has_more or not events:
                break
            if not next_cursor or not _cursor_after(next_cursor, cursor):
                stuck = _(
                    "The PBX sent the event cursor %(cursor)s again: the backfill "
                    "stopped there, so that it does not loop for ever.",
                    cursor=next_cursor,
                )
                break
            cursor = next_cursor
        return remote_queues, remote_agents, pages, stuck

    def _sync_apply(self, remote_queues, remote_agents, pages, stuck=None):
        """Apply what :meth:`_sync_fetch` read: queues, then events, then agents, each
        in a savepoint of its own (events stored and their cursor stay when a later
        step fails). What the PBX sent that Odoo cannot read or refuses is skipped and
        reported. Returns the problems in one message, or None."""
        problems = []
        with self.env.cr.savepoint():
            queues = self._sync_queues(remote_queues, problems)
        with self.env.cr.savepoint():
            self._backfill_events(pages)
        with self.env.cr.savepoint():
            self._sync_agents(remote_agents, queues, problems)
        if stuck:
            problems.append(stuck)
        message = " ".join(problems) or False
        if message:
            _logger.warning(
                "Sync of PBX account %s (%s): %s", self.id, self.name, message
            )
        self.write(
            {
                "sync_state": "error" if message else "ok",
                "last_error": message,
                "last_sync": fields.Datetime.now(),
            }
        )
        return message or None

    def _sync_queues(self, remote_queues, problems=None):
        """Create, update and archive queues after the PBX's list. A queue the PBX
        describes in a way Odoo cannot read, or that Odoo refuses, is left as it is
        and said in ``problems`` (a list). Returns {remote id: queue}."""
        problems = [] if problems is None else problems
        Queue = self.env["axivox.queue"].with_context(
            active_test=False, axivox_no_pending_change=True
        )
        local = {
            q.remote_id: q
            for q in Queue.search(
                [("account_id", "=", self.id), ("remote_id", "!=", False)]
            )
        }
        by_remote = {}
        listed = set()
        to_create = []
        # extension -> the remote id (or Odoo id) of the queue that has it: one
        # extension a queue in an account (said here, not by a failed INSERT)
        taken = {
            q.extension: q.remote_id or q.id
            for q in Queue.search([("account_id", "=", self.id)])
        }
        for remote in remote_queues:
            problem = rules.queue_problem(remote)
            if isinstance(remote, dict) and isinstance(remote.get("id"), str):
                listed.add(remote["id"])
            if (
                not problem
                and taken.get(remote["extension"], remote["id"]) != (remote["id"])
            ):
                problem = _(
                    "its extension %(extension)s is another queue's",
                    extension=remote["extension"],
                )
            if not problem:
                taken[remote["extension"]] = remote["id"]
            if problem:
                problems.append(self._queue_skipped(remote, problem))
                continue
            queue = local.get(remote["id"])
            if not queue:
                to_create.append(remote)
                continue
            try:
                # A savepoint only for a queue that changes: none for the others
                if queue._needs_update_from_pbx(remote):
                    with self.env.cr.savepoint():
                        queue._update_from_pbx(remote)
            except (UserError, ValidationError, psycopg2.IntegrityError) as exc:
                problems.append(self._queue_skipped(remote, self._refusal(exc)))
                continue
            by_remote[remote["id"]] = queue
        quiet = Queue.with_context(
            mail_create_nolog=True,
            mail_create_nosubscribe=True,
            tracking_disable=True,
        )
        if to_create:
            vals_list = [
                dict(Queue._vals_from_pbx(r), account_id=self.id, remote_id=r["id"])
                for r in to_create
            ]
            try:
                # one statement for them all when Odoo takes them all
                with self.env.cr.savepoint():
                    created = quiet.create(vals_list)
            except (UserError, ValidationError, psycopg2.IntegrityError):
                created = quiet.browse()
                for remote, vals in zip(to_create, vals_list, strict=True):
                    try:
                        with self.env.cr.savepoint():
                            created |= quiet.create(vals)
                    except (UserError, ValidationError, psycopg2.IntegrityError) as exc:
                        problems.append(self._queue_skipped(remote, self._refusal(exc)))
            for queue in created:
                by_remote[queue.remote_id] = queue
        gone = Queue.browse(
            [q.id for rid, q in local.items() if rid not in listed and q.active]
        )
        if gone:
            # Deleted on the PBX: archived (its report stays), and nobody is a member
            # anymore.
            gone.write({"active": False})
            gone.member_ids.with_context(axivox_no_pending_change=True).unlink()
        # Events received before their queue was mirrored now find it.
        self.env["axivox.queue.event"].flush_model(["queue_id", "queue_name"])
        self.env.cr.execute(
            """UPDATE axivox_queue_event e SET queue_id = q.id, queue_name = q.name
                 FROM axivox_queue q
                WHERE e.queue_id IS NULL AND e.account_id = %s
                  AND q.account_id = e.account_id
                  AND q.remote_id = e.queue_remote_id""",
            [self.id],
        )
        return by_remote

    def _queue_skipped(self, remote, reason):
        name = (
            remote.get("name") or remote.get("id") if isinstance(remote, dict) else ""
        )
        return _(
            "Queue %(queue)s of the PBX was left as it is: %(reason)s.",
            queue=str(name or "?")[:80],
            reason=reason,
        )

    @api.model
    def _refusal(self, exc):
        """Why Odoo refused a record the PBX described (constraint, unique key)."""
        if isinstance(exc, psycopg2.IntegrityError):
            exc = _as_validation_error(self.env, exc)
        return error_text(exc)

    def _sync_agents(self, remote_agents, queues, problems=None):
        """Reconcile memberships and login states of ``queues`` ({remote id: queue}).
        An agent the PBX describes in a way Odoo cannot read is left as it is and said
        in ``problems`` (a list)."""
        problems = [] if problems is None else problems
        valid = []
        kept = set()
        for agent in remote_agents:
            problem = rules.agent_problem(agent, parse_timestamp)
            if problem:
                problems.append(
                    _(
                        "Agent %(extension)s in queue %(queue)s of the PBX was left as "
                        "it is: %(reason)s.",
                        extension=str(agent.get("extension", "?"))[:20]
                        if isinstance(agent, dict)
                        else "?",
                        queue=str(agent.get("queue_id", "?"))[:80]
                        if isinstance(agent, dict)
                        else "?",
                        reason=problem,
                    )
                )
                # its membership is neither changed nor removed
                if isinstance(agent, dict):
                    kept.add((agent.get("queue_id"), agent.get("extension")))
                continue
            valid.append(agent)
        remote_agents = valid
        Member = (
            self.env["axivox.queue.member"]
            .sudo()
            .with_context(axivox_no_pending_change=True)
        )
        users = self._users_by_extension({a["extension"] for a in remote_agents})
        queue_ids = [q.id for q in queues.values()]
        # One query for every membership, however many (no prefetch in chunks).
        local = {
            (m.queue_id.id, m.user_id.id): m
            for m in Member.search_fetch(
                [("queue_id", "in", queue_ids)],
                ["queue_id", "user_id", "member_type", "connected", "last_change_ts"],
            )
        }
        now = fields.Datetime.now()
        now_ts = now.timestamp()
        seen = set()
        to_create = []
        changed = Member.browse()
        for agent in remote_agents:
            queue = queues.get(agent["queue_id"])
            user = users.get(agent["extension"])
            if not queue or not user or queue.pending_changes:
                continue
            key = (queue.id, user.id)
            seen.add(key)
            member = local.get(key)
            connected = agent["type"] == "static" or bool(agent.get("connected"))
            if not member:
                to_create.append(
                    {
                        "queue_id": queue.id,
                        "user_id": user.id,
                        "member_type": agent["type"],
                        "connected": connected,
                        "last_source": "sync",
                        "last_change": now,
                        "last_change_ts": now_ts,
                        "connected_since": odoo_datetime(agent.get("connected_since"))
                        or now
                        if connected
                        else False,
                    }
                )
                continue
            if member.member_type != agent["type"]:
                member.write({"member_type": agent["type"]})
            if member.connected != connected:
                changed |= member._set_login_state_now(
                    connected, "sync", since=agent.get("connected_since")
                )
        if to_create:
            changed |= Member.create(to_create).filtered("connected")
        gone = Member.browse(
            [
                m.id
                for key, m in local.items()
                if key not in seen
                and not m.queue_id.pending_changes
                and (m.queue_id.remote_id, m.user_id.axivox_extension) not in kept
            ]
        )
        if gone:
            gone.with_context(axivox_no_pending_change=True).unlink()
        changed._notify_state()
        return changed

    def _backfill_events(self, pages):
        """Store the pages of events the PBX listed since the cursor (what webhooks may
        have missed); an event that is not valid is quarantined, and the cursor moves
        on."""
        Intake = self.env["axivox.event.intake"].sudo()
        for events, next_cursor in pages:
            if events:
                Intake._take_in(self, events, "sync")
            if next_cursor:
                self._advance_cursor(next_cursor)

    def _advance_cursor(self, cursor):
        """Move the event cursor forward only (sync and stream may race)."""
        self.ensure_one()
        if cursor is not None and _cursor_after(cursor, self.event_cursor):
            self.event_cursor = str(cursor)
