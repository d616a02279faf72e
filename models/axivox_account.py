import contextlib
import logging
import secrets
import threading
from datetime import timedelta

import psycopg2
import pytz
from psycopg2 import errorcodes

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import _as_validation_error

from odoo.addons.base.models.res_partner import _tz_get

from ..axivox_api import exceptions as pbx_errors
from ..axivox_api.client import AxivoxClient
from ..axivox_api.events import odoo_datetime

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/voip_axivox_queue/webhook/"

# pg_advisory_xact_lock(EVENTS_LOCK, account id): held by whoever changes the account's
# events or login states (webhooks, stream, sync, managers), to the end of its transaction.
# Taken before the account's row lock, always: one order, no deadlock.
EVENTS_LOCK = 0x41584951  # "AXIQ"
PBX_DEADLINE = 20  # seconds, for one PBX call in all
PBX_MAX_RETRY_AFTER = 5  # seconds: a PBX asking to wait longer is answered "try later"

# Conflicts between concurrent transactions, solved by trying again.
CONCURRENCY_ERRORS = frozenset(
    (
        errorcodes.SERIALIZATION_FAILURE,
        errorcodes.DEADLOCK_DETECTED,
        errorcodes.LOCK_NOT_AVAILABLE,
    )
)


def _new_secret():
    return secrets.token_urlsafe(32)


class AxivoxAccount(models.Model):
    """One connection to an Axivox(-compatible) PBX account."""

    _name = "axivox.account"
    _description = "Axivox PBX Account"
    _order = "sequence, name, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    api_url = fields.Char(
        "API URL",
        required=True,
        help="Base URL of the PBX API, without /api/v1 (for example https://pbx.example.com).",
    )
    api_key = fields.Char("API Key", groups="base.group_system", copy=False)
    webhook_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        default=lambda self: _new_secret(),
        help="Shared secret the PBX signs its webhook events with (HMAC-SHA256).",
    )
    webhook_token = fields.Char(
        groups="base.group_system",
        copy=False,
        readonly=True,
        index=True,
        default=lambda self: secrets.token_urlsafe(18),
        help="Identifies this account in the webhook URL; it is not a secret by itself.",
    )
    webhook_url = fields.Char(
        "Webhook URL",
        compute="_compute_webhook_url",
        groups="base.group_system",
        help="Copy this URL into the PBX so that it sends its queue events to Odoo.",
    )
    sync_interval = fields.Integer(
        "Sync Every (minutes)",
        default=5,
        help="How often the scheduled sync reconciles queues, agents and events with the PBX.",
    )
    last_sync = fields.Datetime("Last Sync", readonly=True, copy=False)
    sync_state = fields.Selection(
        [("never", "Never synced"), ("ok", "In sync"), ("error", "Error")],
        default="never",
        readonly=True,
        copy=False,
        required=True,
    )
    last_error = fields.Text(readonly=True, copy=False)
    event_cursor = fields.Char(
        readonly=True,
        copy=False,
        help="Position in the PBX event feed up to which events were received.",
    )
    queue_ids = fields.One2many("axivox.queue", "account_id", string="Queues")
    queue_count = fields.Integer(compute="_compute_queue_count")
    quarantine_count = fields.Integer(
        "Quarantined Events",
        compute="_compute_quarantine_count",
        help="Events of this PBX account that Odoo could not accept, kept with the reason.",
    )
    user_ids = fields.One2many("res.users", "axivox_account_id", string="Mapped Users")
    auto_logout = fields.Boolean(
        "End-of-Day Logout",
        help="Every day at the logout time, disconnect the dynamic agents of this account's "
        "queues who are still connected (static agents are never touched).",
    )
    auto_logout_time = fields.Float(
        "Logout Time",
        default=19.0,
        help="Time of day (in the logout time zone) from which the agents still connected "
        "are disconnected, once a day.",
    )
    auto_logout_tz = fields.Selection(
        _tz_get,
        string="Logout Time Zone",
        required=True,
        default=lambda self: self._default_auto_logout_tz(),
        help="Time zone of the logout time. By default the time zone of the company, else "
        "the administrator's, else UTC.",
    )
    auto_logout_last_date = fields.Date(
        "Last End-of-Day Logout",
        readonly=True,
        copy=False,
        help="Local day (in the logout time zone) for which the end-of-day logout last "
        "completed. A logout that failed for some agents is retried at the next run of "
        "the same day.",
    )

    _sql_constraints = [
        (
            "webhook_token_unique",
            "unique(webhook_token)",
            "The webhook token must be unique.",
        ),
        (
            "sync_interval_positive",
            "check(sync_interval > 0)",
            "The sync interval must be at least one minute.",
        ),
    ]

    @api.depends("webhook_token")
    def _compute_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for account in self:
            token = account.sudo().webhook_token
            account.webhook_url = (
                token and f"{base_url.rstrip('/')}{WEBHOOK_ROUTE}{token}"
            )

    def _compute_queue_count(self):
        # sudo: administrators configure accounts without being queue managers
        counts = dict(
            self.env["axivox.queue"]
            .sudo()
            .with_context(active_test=False)
            ._read_group([("account_id", "in", self.ids)], ["account_id"], ["__count"])
        )
        for account in self:
            account.queue_count = counts.get(account, 0)

    def _compute_quarantine_count(self):
        Quarantine = self.env["axivox.queue.event.quarantine"]
        if not Quarantine.check_access_rights("read", raise_exception=False):
            self.quarantine_count = 0
            return
        counts = dict(
            Quarantine._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.quarantine_count = counts.get(account, 0)

    def action_open_quarantine(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_queue_event_quarantine_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        return action

    @api.model
    def _default_auto_logout_tz(self):
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        return self.env.company.partner_id.tz or (admin and admin.sudo().tz) or "UTC"

    @api.constrains("auto_logout_time")
    def _check_auto_logout_time(self):
        for account in self:
            if not 0 <= account.auto_logout_time < 24:
                raise ValidationError(
                    _(
                        "The logout time of %(account)s must be a time of day, between 00:00 "
                        "and 23:59.",
                        account=account.name,
                    )
                )

    @api.constrains("api_url")
    def _check_api_url(self):
        for account in self:
            if account.api_url and not account.api_url.startswith(
                ("http://", "https://")
            ):
                raise UserError(
                    _(
                        "The API URL of %(account)s must start with http:// or https://.",
                        account=account.name,
                    )
                )

    def action_rotate_webhook_secret(self):
        """Generate a new webhook secret; the PBX must be given the new one."""
        self.check_access_rights("write")
        if not self.env.user.has_group("base.group_system"):
            raise UserError(_("Only administrators can rotate the webhook secret."))
        for account in self:
            account.webhook_secret = _new_secret()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning",
                "message": _(
                    "A new webhook secret was generated. Give it to the PBX: "
                    "events signed with the old one are now refused."
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_open_queues(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_queue_action"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"default_account_id": self.id}
        return action

    @api.model
    def _default_for_company(self, company=None):
        company = company or self.env.company
        return self.search([("company_id", "=", company.id)], limit=1)

    # ------------------------------------------------------------------
    # The PBX
    # ------------------------------------------------------------------
    def _pbx_client(self):
        """The one way Odoo speaks to the PBX of this account."""
        self.ensure_one()
        account = self.sudo()
        if not account.api_url or not account.api_key:
            raise UserError(
                _(
                    "No PBX is configured for %(account)s: an administrator must set its API "
                    "URL and API key.",
                    account=account.name,
                )
            )
        # Every call ends within PBX_DEADLINE seconds, retries and waits included: agents'
        # clicks and the cron are never held longer by a slow or throttling PBX.
        return AxivoxClient(
            account.api_url,
            account.api_key,
            timeout=10,
            deadline=PBX_DEADLINE,
            max_retry_after=PBX_MAX_RETRY_AFTER,
        )

    @contextlib.contextmanager
    def _pbx_errors(self):
        """Turn PBX errors into messages for the user; nothing else is changed."""
        try:
            yield
        except pbx_errors.AxivoxError as exc:
            _logger.info("PBX call for account %s failed: %s", self.id, exc.message)
            raise UserError(self._pbx_error_message(exc)) from exc

    @api.model
    def _pbx_error_message(self, exc):
        """What a PBX error means for the user, and what to do: one sentence or two, in the
        user's language, without URLs or HTTP codes (those are in the server log)."""
        if isinstance(exc, pbx_errors.AxivoxUnavailable):
            if exc.status:
                return _(
                    "The PBX is not working right now. Try again in a few minutes; if it "
                    "lasts, ask your administrator to check the PBX account."
                )
            return _(
                "The PBX could not be reached. Ask your administrator to check the PBX "
                "account."
            )
        if isinstance(exc, pbx_errors.AxivoxAuthError):
            return _(
                "The PBX refused Odoo's API key. Ask your administrator to check the PBX "
                "account."
            )
        if isinstance(exc, pbx_errors.AxivoxRateLimited):
            return _("The PBX is busy. Try again in a minute.")
        if isinstance(exc, pbx_errors.AxivoxNotFound):
            return _(
                "The PBX no longer knows this queue or agent. Click Refresh to read the "
                "queues again."
            )
        if isinstance(exc, pbx_errors.AxivoxConflict) and exc.code == "static_agent":
            return _("Static agents are always connected: they cannot be disconnected.")
        if isinstance(
            exc, (pbx_errors.AxivoxConflict, pbx_errors.AxivoxValidationError)
        ):
            return _("The PBX refused the change: %(reason)s", reason=exc.message)
        return _(
            "The PBX sent an answer Odoo does not understand. Ask your administrator "
            "to check the PBX account."
        )

    @api.model
    def _webhook_account(self, token):
        """The active account a webhook URL token designates (empty if none)."""
        if not token or len(token) > 64:
            return self.browse()
        return self.search_fetch(
            [("webhook_token", "=", token)], ["webhook_secret", "company_id"], limit=1
        )

    @api.model
    def _users_by_extension(self, extensions):
        """{extension: user} for the users of this account mapped to ``extensions``."""
        if not extensions:
            return {}
        users = (
            self.env["res.users"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                [
                    ("axivox_account_id", "=", self.id),
                    ("axivox_extension", "in", list(extensions)),
                ],
                ["axivox_extension"],
            )
        )
        return {user.axivox_extension: user for user in users}

    def _advance_cursor(self, cursor):
        """Move the event cursor forward only (sync and stream may race)."""
        self.ensure_one()
        if cursor is None:
            return
        current = self.event_cursor
        if (
            current
            and str(current).isdigit()
            and str(cursor).isdigit()
            and int(cursor) <= int(current)
        ):
            return
        self.event_cursor = str(cursor)

    # ------------------------------------------------------------------
    # Sync
    # ------------------------------------------------------------------
    def action_sync_now(self):
        """Sync at once. A failure is recorded on the account and shown, not raised: raising
        would roll back the record of the error with everything else."""
        self.check_access_rights("read")
        self.check_access_rule("read")
        errors = [
            error
            for error in (account.sudo()._sync_committed() for account in self)
            if error
        ]
        return self._result_notification(errors, _("Odoo is in sync with the PBX."))

    @api.model
    def _result_notification(self, errors, success):
        """A button's answer: the errors, sticky, or the success message; then a reload."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "danger" if errors else "success",
                "sticky": bool(errors),
                "message": "\n".join(errors) or success,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _cron_sync(self):
        """Sync every account that is due; one account failing does not stop the others.
        Each account is synced and committed in a transaction of its own."""
        now = fields.Datetime.now()
        for account in self.sudo().search([]):
            due = not account.last_sync or (
                account.last_sync + timedelta(minutes=account.sync_interval) <= now
            )
            if due:
                account._sync_committed()

    @contextlib.contextmanager
    def _own_transaction(self):
        """An environment on a new transaction, committed when the block ends (rolled back
        on an exception). It reads what is committed at each statement (READ COMMITTED):
        work that starts by taking a lock sees everything committed before it got it, so
        concurrent webhooks, syncs and listeners never fail on each other's rows.

        Under tests, the test's transaction (in a savepoint) stands for it, unless the
        context says ``axivox_real_transactions``."""
        if self.env.registry.in_test_mode() or (
            _testing() and not self.env.context.get("axivox_real_transactions")
        ):
            with self.env.cr.savepoint():
                yield self.env
            return
        with self.env.registry.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            yield self.env(cr=cr)

    def _sync_committed(self):
        """:meth:`_sync_safely` in a transaction of its own. Returns the error message, or
        None."""
        self.ensure_one()
        with self._own_transaction() as env:
            return self.with_env(env)._sync_safely()

    def _sync_safely(self):
        """Sync, or record why it failed. Returns the error message, or None.

        The PBX is read first, holding no lock (its retries may wait); then the account is
        locked (another sync running: skipped, and said) and the changes applied. A
        conflict with a concurrent transaction (a serialization failure, a deadlock, a
        unique constraint) rolls the sync back and is recorded as its failure: the next
        run retries from the same cursor, and the other accounts are synced."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                client = self._pbx_client()
                fetched = self._sync_fetch(client)
                self._lock_for_sync()
                stuck = self._sync_apply(*fetched)
        except _SyncBusy:
            return _(
                "A sync of %(account)s is already running: try again in a moment.",
                account=self.name,
            )
        except (pbx_errors.AxivoxError, UserError, ValidationError) as exc:
            message = (
                self._pbx_error_message(exc)
                if isinstance(exc, pbx_errors.AxivoxError)
                else _error_text(exc)
            )
        except (KeyError, TypeError) as exc:
            detail = f"{exc.__class__.__name__}: {str(exc)[:80]}"
            message = _(
                "The PBX sent an answer Odoo cannot read (%(error)s).", error=detail
            )
        except psycopg2.IntegrityError as exc:
            message = _error_text(_as_validation_error(self.env, exc))
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

    def _lock_events(self):
        """Wait for the account's events lock (see EVENTS_LOCK): changes of its events and
        login states are applied one transaction at a time. In READ COMMITTED (see
        :meth:`_own_transaction`), what was committed before it was granted is then read."""
        for account in self:
            self.env.cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [EVENTS_LOCK, account.id]
            )

    def _lock_for_sync(self):
        self._lock_events()
        try:
            self.env.cr.execute(
                "SELECT id FROM axivox_account WHERE id = %s FOR UPDATE NOWAIT",
                [self.id],
                log_exceptions=False,
            )
        except psycopg2.OperationalError as exc:
            if exc.pgcode not in CONCURRENCY_ERRORS:
                raise
            raise _SyncBusy() from exc

    def _sync(self):
        """Make Odoo true to the PBX: queues, memberships and connected agents, events."""
        self.ensure_one()
        self._sync_apply(*self._sync_fetch(self._pbx_client()))

    def _sync_fetch(self, client, page_size=1000, max_pages=100):
        """Read from the PBX what a sync needs: queues, agents and the pages of events since
        the cursor, at most ``max_pages`` (the next run goes on). Returns ``(queues, agents,
        pages, stuck)``: ``pages`` are ``(events, next cursor)``; ``stuck`` is the error
        message when the PBX repeated a cursor (the backfill stopped there), else None."""
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
        """Apply what :meth:`_sync_fetch` read: queues, then events, then agents. Returns
        ``stuck``."""
        queues = self._sync_queues(remote_queues)
        self._backfill_events(pages)
        self._sync_agents(remote_agents, queues)
        if stuck:
            _logger.warning(
                "Sync of PBX account %s (%s): %s", self.id, self.name, stuck
            )
        self.write(
            {
                "sync_state": "error" if stuck else "ok",
                "last_error": stuck or False,
                "last_sync": fields.Datetime.now(),
            }
        )
        return stuck

    def _sync_queues(self, remote_queues):
        """Create, update and archive queues after the PBX's list. Returns {remote id: queue}."""
        Queue = self.env["axivox.queue"].with_context(
            active_test=False, axivox_from_pbx=True
        )
        local = {
            q.remote_id: q
            for q in Queue.search(
                [("account_id", "=", self.id), ("remote_id", "!=", False)]
            )
        }
        by_remote = {}
        to_create = []
        for remote in remote_queues:
            queue = local.get(remote["id"])
            vals = Queue._vals_from_pbx(remote)
            if not queue:
                to_create.append(dict(vals, account_id=self.id, remote_id=remote["id"]))
                continue
            by_remote[remote["id"]] = queue
            queue._update_from_pbx(remote)
        if to_create:
            quiet = Queue.with_context(
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                tracking_disable=True,
            )
            for queue in quiet.create(to_create):
                by_remote[queue.remote_id] = queue
        gone = Queue.browse(
            [q.id for rid, q in local.items() if rid not in by_remote and q.active]
        )
        if gone:
            # Deleted on the PBX: archived (its report stays), and nobody is a member anymore.
            gone.write({"active": False})
            gone.member_ids.with_context(axivox_from_pbx=True).unlink()
        # Events received before their queue was mirrored now find it.
        self.env["axivox.queue.event"].flush_model(["queue_id", "queue_name"])
        self.env.cr.execute(
            """UPDATE axivox_queue_event e SET queue_id = q.id, queue_name = q.name
                 FROM axivox_queue q
                WHERE e.queue_id IS NULL AND e.account_id = %s
                  AND q.account_id = e.account_id AND q.remote_id = e.queue_remote_id""",
            [self.id],
        )
        return by_remote

    def _sync_agents(self, remote_agents, queues):
        """Reconcile memberships and login states of ``queues`` ({remote id: queue})."""
        Member = (
            self.env["axivox.queue.member"].sudo().with_context(axivox_from_pbx=True)
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
                if key not in seen and not m.queue_id.pending_changes
            ]
        )
        if gone:
            gone.with_context(axivox_from_pbx=True).unlink()
        changed._notify_state()
        return changed

    def _backfill_events(self, pages):
        """Store the pages of events the PBX listed since the cursor (what webhooks may
        have missed); an event that is not valid is quarantined, and the cursor moves on."""
        Event = self.env["axivox.queue.event"].sudo()
        for events, next_cursor in pages:
            if events:
                Event._receive(self, events, "sync")
            if next_cursor:
                self._advance_cursor(next_cursor)

    # ------------------------------------------------------------------
    # End-of-day logout
    # ------------------------------------------------------------------
    def action_auto_logout_now(self):
        """Disconnect every connected dynamic agent now, whatever the time (administrators).
        The scheduled logout of the day still runs: agents may log in again meanwhile."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        if not self.env.user.has_group("base.group_system"):
            raise UserError(_("Only administrators can log every agent out."))
        errors = [
            error
            for error in (account._auto_logout() for account in self.sudo())
            if error
        ]
        return self._result_notification(
            errors, _("Every dynamic agent was logged out.")
        )

    @api.model
    def _cron_auto_logout(self, now=None):
        """Run the end-of-day logout of every account where it is due (``now``: naive UTC).
        One account failing does not stop the others."""
        now = now or fields.Datetime.now()
        for account in self.sudo().search([("auto_logout", "=", True)]):
            local_day = account._auto_logout_due_day(now)
            if not local_day:
                continue
            with account._own_transaction() as env:
                account = account.with_env(env)
                if not account._auto_logout():
                    account.auto_logout_last_date = local_day

    def _auto_logout_due_day(self, now):
        """The local day whose logout is due at ``now`` (naive UTC), or None."""
        self.ensure_one()
        if not self.auto_logout:
            return None
        tz = pytz.timezone(self.auto_logout_tz or "UTC")
        local = pytz.utc.localize(now).astimezone(tz)
        if (
            local.hour + local.minute / 60.0 + local.second / 3600.0
            < self.auto_logout_time
        ):
            return None
        if self.auto_logout_last_date and self.auto_logout_last_date >= local.date():
            return None
        return local.date()

    def _auto_logout(self):
        """Disconnect, through the PBX, every connected dynamic agent of this account's
        mirrored queues, as the PBX lists them. Returns the error message, or None when
        every agent was logged out.

        Each disconnection is stamped like a PBX event, so a late, older ADDMEMBER never
        undoes it; the REMOVEMEMBER the PBX sends back changes nothing.
        """
        self.ensure_one()
        queues = {
            q.remote_id: q
            for q in self.env["axivox.queue"].search(
                [("account_id", "=", self.id), ("remote_id", "!=", False)]
            )
        }
        Member = self.env["axivox.queue.member"].sudo()
        members = {
            (m.queue_id.remote_id, m.extension): m
            for m in Member.search(
                [("queue_id", "in", [q.id for q in queues.values()])]
            )
        }
        failures = []
        changed = Member.browse()
        try:
            client = self._pbx_client()
            agents = client.list_agents()
        except (pbx_errors.AxivoxError, UserError) as exc:
            failures.append(_error_text(exc))
            agents = []
        for agent in agents:
            if (
                agent["type"] != "dynamic"
                or not agent.get("connected")
                or agent["queue_id"] not in queues
            ):
                continue
            member = members.get((agent["queue_id"], agent["extension"]))
            if member and member.member_type == "static":
                continue
            try:
                result = client.disconnect_agent(agent["queue_id"], agent["extension"])
            except pbx_errors.AxivoxError as exc:
                _logger.warning(
                    "End-of-day logout of extension %s from queue %s (PBX account %s) "
                    "failed: %s",
                    agent["extension"],
                    agent["queue_id"],
                    self.id,
                    exc.message,
                )
                failures.append(
                    _(
                        "%(extension)s in %(queue)s: %(message)s",
                        extension=agent["extension"],
                        queue=queues[agent["queue_id"]].name,
                        message=exc.message,
                    )
                )
                continue
            if member:
                changed |= member._set_login_state_now(
                    bool(result.get("connected", False)), "auto"
                )
        changed._notify_state()
        if not failures:
            return None
        message = _(
            "End-of-day logout of %(account)s failed: %(errors)s",
            account=self.name,
            errors="; ".join(failures),
        )
        if not agents:
            _logger.warning(
                "End-of-day logout of PBX account %s (%s) failed: %s",
                self.id,
                self.name,
                failures[0],
            )
        self.last_error = message
        return message


class _SyncBusy(Exception):
    """Another transaction is syncing this account: skip, the next run retries."""


def _error_text(exc):
    """The message of a PBX or user error, for the account's last error and the logs."""
    return getattr(exc, "message", None) or str(exc.args[0] if exc.args else exc)


def _cursor_after(cursor, previous):
    """Whether the feed cursor ``cursor`` is past ``previous`` (numeric cursors compared as
    numbers; an opaque one only has to differ)."""
    if previous in (None, ""):
        return True
    if str(cursor).isdigit() and str(previous).isdigit():
        return int(cursor) > int(previous)
    return str(cursor) != str(previous)


def _testing():
    return getattr(threading.current_thread(), "testing", False)
