"""The end-of-day logout of axivox.account: every day at the account's logout time,
the dynamic agents of its queues still connected are disconnected through the PBX
(static agents are never touched). Its settings are fields of the account
(axivox_account.py)."""

import logging

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..axivox_api import exceptions as pbx_errors
from ..axivox_api import rules
from ..axivox_api.events import parse_timestamp
from ..transactions import own_transaction
from .axivox_account import error_text

_logger = logging.getLogger(__name__)


class AxivoxAccount(models.Model):
    # One file a concern on purpose (here the end-of-day logout), as OCA connector keeps
    # a backend apart from its sync; the check is optional in the OCA template.
    _inherit = "axivox.account"  # pylint: disable=consider-merging-classes-inherited

    def action_auto_logout_now(self):
        """Disconnect every connected dynamic agent now, whatever the time
        (administrators). The scheduled logout of the day still runs: agents may log in
        again meanwhile."""
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
        """Run the end-of-day logout of every account where it is due (``now``: naive
        UTC). One account failing does not stop the others."""
        now = now or fields.Datetime.now()
        for account in self.sudo().search([("auto_logout", "=", True)]):
            local_day = account._auto_logout_due_day(now)
            if not local_day:
                continue
            try:
                if not account._auto_logout():
                    with own_transaction(account.env) as env:
                        account.with_env(env).auto_logout_last_date = local_day
            except Exception as exc:  # pylint: disable=broad-except
                # recorded, and the next accounts are logged out all the same
                _logger.exception(
                    "End-of-day logout of PBX account %s (%s) failed",
                    account.id,
                    account.name,
                )
                detail = f"{exc.__class__.__name__}: {str(exc)[:200]}"
                with own_transaction(account.env) as env:
                    account.with_env(env).last_error = _(
                        "End-of-day logout of %(account)s failed: %(errors)s",
                        account=account.name,
                        errors=detail,
                    )

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

        The PBX is asked first, holding no lock (each call may take seconds); then the
        states are applied in one short transaction of their own, under the account's
        events lock (webhooks, the applier and the listener of the account wait only
        for that). Each disconnection is stamped like a PBX event, so a late, older
        ADDMEMBER never undoes it; the REMOVEMEMBER the PBX sends back changes nothing.
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
        done = []
        try:
            client = self._pbx_client()
            agents = client.list_agents()
        except (pbx_errors.AxivoxError, UserError) as exc:
            failures.append(error_text(exc))
            agents = []
        for agent in agents:
            problem = rules.agent_problem(agent, parse_timestamp)
            if problem:
                failures.append(
                    _(
                        "the PBX listed an agent Odoo cannot read (%(reason)s)",
                        reason=problem,
                    )
                )
                continue
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
                done.append((member, bool(result.get("connected", False))))
        if done:
            with own_transaction(self.env) as env:
                changed = Member.with_env(env)
                for member, connected in done:
                    changed |= member.with_env(env)._set_login_state_now(
                        connected, "auto"
                    )
                changed._notify_state()
            Member.browse(
                [member.id for member, _connected in done]
            ).invalidate_recordset()
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
        with own_transaction(self.env) as env:
            self.with_env(env).last_error = message
        self.invalidate_recordset(["last_error"])
        return message
