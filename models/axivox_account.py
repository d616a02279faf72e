"""The PBX account (axivox.account): the configuration of one connection to an
Axivox(-compatible) PBX (API, webhook, sync interval, end-of-day logout settings), and
the one way Odoo speaks to that PBX (its client, its errors in the user's words).

Like OCA connector's backend record, the account is kept apart from the code that
synchronises it: the sync is in axivox_account_sync.py, the end-of-day logout in
axivox_account_auto_logout.py, and the transactions and locks the sync shares with the
webhooks in transactions.py.
"""

import contextlib
import datetime
import logging
import secrets
import time
import urllib.parse
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.http import request

from odoo.addons.base.models.res_partner import _tz_get

from ..axivox_api import exceptions as pbx_errors
from ..axivox_api.client import AxivoxClient

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/voip_axivox_queue/webhook/"

PBX_DEADLINE = 20  # seconds, for one PBX call in all
PBX_MAX_RETRY_AFTER = 5  # seconds: a PBX asking to wait longer is answered "try later"
# seconds the webhook secret before a rotation is still accepted: deliveries the PBX
# signed with it, and those it sends until it is given the new one
SECRET_GRACE = 3600


def _new_secret():
    return secrets.token_urlsafe(32)


def _is_websocket_url(url):
    """Whether ``url`` is a ws:// or wss:// address with a host (and a valid port)."""
    if any(c.isspace() for c in url) or not url.isprintable():
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        # a port out of range raises ValueError
        return (
            parts.scheme in ("ws", "wss")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:
        return False


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
        help="Base URL of the PBX API, without /api/v1 (for example "
        "https://pbx.example.com).",
    )
    api_key = fields.Char("API Key", groups="base.group_system", copy=False)
    sip_websocket_url = fields.Char(
        "SIP WebSocket URL",
        help="The PBX's SIP over WebSocket address (for example "
        "wss://pabx.axivox.com:3443). With it, the softphone of each user who has a "
        "SIP password is a phone in her browser: it registers on the PBX and places "
        "and answers calls itself. Empty: calls are placed through the PBX API from "
        "the user's desk phone.",
    )
    webhook_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        default=lambda self: _new_secret(),
        help="Shared secret the PBX signs its webhook events with (HMAC-SHA256).",
    )
    # The secret before the last rotation, accepted until the PBX has the new one.
    webhook_secret_previous = fields.Char(
        "Previous Webhook Secret", groups="base.group_system", copy=False
    )
    webhook_secret_previous_until = fields.Datetime(
        "Previous Secret Accepted Until",
        groups="base.group_system",
        copy=False,
        readonly=True,
    )
    webhook_token = fields.Char(
        groups="base.group_system",
        copy=False,
        readonly=True,
        index=True,
        default=lambda self: secrets.token_urlsafe(18),
        help="Identifies this account in the webhook URL; it is not a secret by "
        "itself.",
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
        help="How often the scheduled sync reconciles queues, agents and events with "
        "the PBX.",
    )
    last_sync = fields.Datetime(readonly=True, copy=False)
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
        help="Events of this PBX account that Odoo could not accept, kept with the "
        "reason.",
    )
    waiting_deliveries = fields.Integer(
        compute="_compute_waiting_deliveries",
        help="Webhook deliveries stored and not applied yet. The webhook applier "
        "(odoo-bin axivox-apply) applies them within moments; when it is stopped, the "
        "cron applies them every minute. A number that stays high means the applier "
        "does not keep up or does not run.",
    )
    user_ids = fields.One2many("res.users", "axivox_account_id", string="Mapped Users")
    auto_logout = fields.Boolean(
        "End-of-Day Logout",
        help="Every day at the logout time, disconnect the dynamic agents of this "
        "account's queues who are still connected (static agents are never touched).",
    )
    auto_logout_time = fields.Float(
        "Logout Time",
        default=19.0,
        help="Time of day (in the logout time zone) from which the agents still "
        "connected are disconnected, once a day.",
    )
    auto_logout_tz = fields.Selection(
        _tz_get,
        string="Logout Time Zone",
        required=True,
        default=lambda self: self._default_auto_logout_tz(),
        help="Time zone of the logout time. By default the time zone of the company, "
        "else the administrator's, else UTC.",
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
            "webhook_secret_unique",
            "unique(webhook_secret)",
            "Another PBX account has this webhook secret: give each account its own.",
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
        self._count_readable("axivox.queue.event.quarantine", "quarantine_count")

    def _compute_waiting_deliveries(self):
        self._count_readable("axivox.queue.event.inbox", "waiting_deliveries")

    def _count_readable(self, model, field):
        """Set ``field`` to the number of ``model`` records of each account; 0 for a
        user who may not read them (administrators only)."""
        Model = self.env[model]
        if not Model.check_access_rights("read", raise_exception=False):
            self[field] = 0
            return
        counts = dict(
            Model._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account[field] = counts.get(account, 0)

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
                        "The logout time of %(account)s must be a time of day, between "
                        "00:00 and 23:59.",
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
                        "The API URL of %(account)s must start with http:// or "
                        "https://.",
                        account=account.name,
                    )
                )

    @api.constrains("sip_websocket_url")
    def _check_sip_websocket_url(self):
        for account in self:
            if account.sip_websocket_url and not _is_websocket_url(
                account.sip_websocket_url
            ):
                raise ValidationError(
                    _(
                        "The SIP WebSocket URL of %(account)s must be a WebSocket "
                        "address: wss://host:port (or ws:// on a private network), "
                        "without spaces.",
                        account=account.name,
                    )
                )

    def _sip_domain(self):
        """The SIP domain of the users' addresses: the host of the WebSocket URL."""
        self.ensure_one()
        return urllib.parse.urlsplit(self.sip_websocket_url or "").hostname or False

    def action_rotate_webhook_secret(self):
        """Generate a new webhook secret; the PBX must be given the new one."""
        self.check_access_rights("write")
        if not self.env.user.has_group("base.group_system"):
            raise UserError(_("Only administrators can rotate the webhook secret."))
        until = fields.Datetime.now() + timedelta(seconds=SECRET_GRACE)
        for account in self:
            account.write(
                {
                    "webhook_secret_previous": account.webhook_secret,
                    "webhook_secret_previous_until": until,
                    "webhook_secret": _new_secret(),
                }
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning",
                "message": _(
                    "A new webhook secret was generated. Give it to the PBX: "
                    "events signed with the old one are accepted for one more hour, "
                    "then refused."
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
                    "No PBX is configured for %(account)s: an administrator must set "
                    "its API URL and API key.",
                    account=account.name,
                )
            )
        # Every call ends within PBX_DEADLINE seconds, retries and waits included:
        # agents' clicks and the cron are never held longer by a slow or throttling PBX.
        return AxivoxClient(
            account.api_url,
            account.api_key,
            timeout=10,
            deadline=PBX_DEADLINE,
            max_retry_after=PBX_MAX_RETRY_AFTER,
        )

    def _once_per_request(self, key, call):
        """``call()``, a PBX call that changes something, once per HTTP request: when
        Odoo serves the request again after a serialization failure
        (``odoo.service.model.retrying``, for every RPC), the PBX's first answer is
        returned and the PBX is not asked again. Outside a request, ``call()``."""
        if not request:
            return call()
        done = getattr(request, "_axivox_pbx_calls", None)
        if done is None:
            done = {}
            request._axivox_pbx_calls = done
        key = (self.id, *key)
        if key not in done:
            done[key] = call()
        return done[key]

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
        """What a PBX error means for the user, and what to do: one sentence or two, in
        the user's language, without URLs or HTTP codes (those are in the server
        log)."""
        if isinstance(exc, pbx_errors.AxivoxUnavailable):
            if exc.status:
                return _(
                    "The PBX is not working right now. Try again in a few minutes; if "
                    "it lasts, ask your administrator to check the PBX account."
                )
            return _(
                "The PBX could not be reached. Ask your administrator to check the PBX "
                "account."
            )
        if isinstance(exc, pbx_errors.AxivoxAuthError):
            return _(
                "The PBX refused Odoo's API key. Ask your administrator to check the "
                "PBX account."
            )
        if isinstance(exc, pbx_errors.AxivoxRateLimited):
            return _("The PBX is busy. Try again in a minute.")
        if isinstance(exc, pbx_errors.AxivoxNotFound):
            return _(
                "The PBX no longer knows this queue or agent. Click Refresh to read "
                "the queues again."
            )
        if isinstance(exc, pbx_errors.AxivoxConflict) and exc.code == "static_agent":
            return _("Static agents are always connected: they cannot be disconnected.")
        if isinstance(
            exc, pbx_errors.AxivoxConflict | pbx_errors.AxivoxValidationError
        ):
            return _("The PBX refused the change: %(reason)s", reason=exc.message)
        if exc.code == "response_too_large":
            return _(
                "The PBX sent an answer too large for Odoo to read. Ask your "
                "administrator to check the PBX account."
            )
        return _(
            "The PBX sent an answer Odoo does not understand. Ask your administrator "
            "to check the PBX account."
        )

    # What a webhook delivery reads of its account: cached, as every delivery asks.
    WEBHOOK_FIELDS = frozenset(
        {
            "webhook_token",
            "webhook_secret",
            "webhook_secret_previous",
            "webhook_secret_previous_until",
            "active",
        }
    )

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        self.env.registry.clear_cache()  # _webhook_credentials
        return accounts

    def write(self, vals):
        result = super().write(vals)
        if self.WEBHOOK_FIELDS.intersection(vals):
            self.env.registry.clear_cache()  # _webhook_credentials
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()  # _webhook_credentials
        return result

    @api.model
    def _webhook_account(self, token):
        """``(account, secrets)``: the active account a webhook URL token designates
        and the webhook secrets a delivery may be signed with now (its secret, and the
        one before the last rotation during its grace period); an empty account and
        no secret if none. No query: read from the cache of every active account's
        token, which a change of an account's token, secrets or state clears in every
        Odoo process."""
        account_id, secret, previous, until = self._webhook_credentials().get(
            token, (None, None, None, 0)
        )
        secrets_now = [secret] if secret else []
        if previous and time.time() < until:
            secrets_now.append(previous)
        return self.browse(account_id), secrets_now

    @tools.ormcache()
    def _webhook_credentials(self):
        """``{webhook token: (account id, webhook secret, previous secret, end of its
        grace period in epoch seconds)}`` of the active accounts: one entry, whatever
        tokens are asked for."""
        self.flush_model(list(self.WEBHOOK_FIELDS))
        self.env.cr.execute(
            """SELECT webhook_token, id, webhook_secret, webhook_secret_previous,
                      webhook_secret_previous_until
                 FROM axivox_account
                WHERE active AND webhook_token IS NOT NULL"""
        )
        return {
            token: (
                account_id,
                secret,
                previous,
                until.replace(tzinfo=datetime.timezone.utc).timestamp() if until else 0,
            )
            for token, account_id, secret, previous, until in self.env.cr.fetchall()
        }

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
                # the partner: the bus messages of ingestion are sent to it
                ["axivox_extension", "partner_id"],
            )
        )
        return {user.axivox_extension: user for user in users}

    @api.model
    def _result_notification(self, errors, success):
        """A button's answer: the errors, sticky, or the success message; then a
        reload."""
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


def error_text(exc):
    """The message of a PBX or user error, for the account's last error and the logs."""
    return getattr(exc, "message", None) or str(exc.args[0] if exc.args else exc)
