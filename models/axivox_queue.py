import re
from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG

from ..axivox_api import exceptions as pbx_errors

DIAL_STRING = re.compile(r"^[0-9*#]{1,20}$")
MAX_WAIT_TIME = 86400  # one day
MAX_RING_TIME = 3600  # one hour
MAX_SERVICE_LEVEL = 3600  # one hour

# The queue KPIs, computed per period: (field suffix, type, label, help). A call's events are
# counted in the period in which the PBX logged them (their time), not the period in which the
# call entered the queue.
KPI_FIELDS = [
    (
        "offered",
        "integer",
        "Calls",
        "Calls offered: ENTERQUEUE events of the queue in the period.",
    ),
    (
        "answered",
        "integer",
        "Answered",
        "Calls answered: CONNECT events (a caller connected to an agent) in the period.",
    ),
    (
        "abandoned",
        "integer",
        "Abandoned",
        "Calls abandoned: ABANDON events (the caller hung up while waiting) in the period.",
    ),
    (
        "timeout",
        "integer",
        "Timed Out",
        "Calls timed out: EXITWITHTIMEOUT events (the caller reached the maximum waiting "
        "time) in the period.",
    ),
    (
        "no_agent",
        "integer",
        "No Agent",
        "Calls that found no agent: EXITEMPTY events (no agent connected) in the period.",
    ),
    (
        "answer_rate",
        "percent",
        "Answer Rate",
        "Answered calls / calls offered in the period (0 when no call was offered).",
    ),
    (
        "abandon_rate",
        "percent",
        "Abandon Rate",
        "Abandoned calls / calls offered in the period (0 when no call was offered).",
    ),
    (
        "service_level",
        "percent",
        "Service Level",
        "Calls answered within the queue's service level threshold (CONNECT events whose "
        "waiting time is at most the threshold, in seconds) / calls offered in the period "
        "(0 when no call was offered).",
    ),
    (
        "avg_wait",
        "float",
        "Average Waiting Time (s)",
        "Average waiting time of the answered calls: mean waiting time of the CONNECT events "
        "of the period, in seconds (0 when no call was answered).",
    ),
    (
        "max_wait",
        "integer",
        "Longest Waiting Time (s)",
        "Longest waiting time of an answered call: largest waiting time of the CONNECT "
        "events of the period, in seconds (0 when no call was answered).",
    ),
    (
        "avg_talk",
        "float",
        "Average Talk Time (s)",
        "Average talk time: mean talk time of the calls that ended in the period "
        "(COMPLETEAGENT and COMPLETECALLER events; transferred calls are not counted), "
        "in seconds (0 when no call ended).",
    ),
    (
        "avg_agents",
        "float",
        "Average Connected Agents",
        "Average number of agents connected to the queue over the elapsed part of the period "
        "(from its start to now, or to its end if it is over): each static agent of the queue "
        "counts as connected the whole time; a dynamic agent is connected from an "
        "ADDMEMBER event to the next REMOVEMEMBER event (for the queue's current dynamic "
        "agents, the state at the start of the period is that of their last such event before "
        "it). Total connected time of all agents divided by the length of the period.",
    ),
]


def _kpi_field(period_label, kind, label, help_text):
    common = {
        "string": f"{label} ({period_label})",
        "compute": "_compute_kpis",
        "help": help_text,
    }
    if kind == "integer":
        return fields.Integer(**common)
    # Floats without digits: the exact ratio or mean (the views round them).
    return fields.Float(**common)


STRATEGIES = [
    ("ringall", "Call all available agents"),
    ("leastrecent", "Call the agent idle the longest"),
    ("fewestcalls", "Call the agent who received the fewest calls"),
    ("random", "Call a random agent"),
    ("rrmemory", "Call agents one after the other"),
    ("linear", "Call agents one after the other, starting with the first in the list"),
]

# Fields that describe the queue on the PBX: editing them leaves changes to apply.
PBX_FIELDS = {
    "name",
    "extension",
    "strategy",
    "max_wait_time",
    "max_ring_time",
    "login_code",
    "logout_code",
}


# Refreshes from the PBX a manager may ask for per minute.
REFRESH_LIMIT = 10


class AxivoxQueue(models.Model):
    """Mirror of a call queue of the PBX."""

    _name = "axivox.queue"
    _description = "Call Queue"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    color = fields.Integer()
    account_id = fields.Many2one(
        "axivox.account",
        string="PBX Account",
        required=True,
        index=True,
        ondelete="restrict",
        default=lambda self: self.env["axivox.account"]._default_for_company(),
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, precompute=True
    )
    extension = fields.Char(
        "Internal Extension",
        required=True,
        tracking=True,
        help="Number dialed to reach the queue.",
    )
    strategy = fields.Selection(
        STRATEGIES,
        required=True,
        default="ringall",
        tracking=True,
        help="How incoming calls are routed to the agents of the queue.",
    )
    max_wait_time = fields.Integer(
        "Maximum Waiting Time (s)",
        required=True,
        default=300,
        tracking=True,
        help="Longest time a caller waits in the queue before going to the next step "
        "of the dial plan.",
    )
    max_ring_time = fields.Integer(
        "Maximum Ringing at an Agent (s)",
        required=True,
        default=20,
        tracking=True,
        help="Longest time one agent's phone rings before the next agent is tried.",
    )
    login_code = fields.Char(
        "Agent Connection Code",
        required=True,
        tracking=True,
        compute="_compute_default_codes",
        store=True,
        readonly=False,
        precompute=True,
        help="Number an agent dials to log into the queue (by default * and the queue's "
        "extension, as on the PBX).",
    )
    logout_code = fields.Char(
        "Agent Disconnection Code",
        required=True,
        tracking=True,
        compute="_compute_default_codes",
        store=True,
        readonly=False,
        precompute=True,
        help="Number an agent dials to log out of the queue (by default # and the queue's "
        "extension, as on the PBX).",
    )
    member_ids = fields.One2many("axivox.queue.member", "queue_id", string="Agents")
    static_member_ids = fields.One2many(
        "axivox.queue.member",
        "queue_id",
        string="Static Agents",
        domain=[("member_type", "=", "static")],
        context={"default_member_type": "static"},
    )
    dynamic_member_ids = fields.One2many(
        "axivox.queue.member",
        "queue_id",
        string="Dynamic Agents",
        domain=[("member_type", "=", "dynamic")],
        context={"default_member_type": "dynamic"},
    )
    connected_member_ids = fields.One2many(
        "axivox.queue.member",
        "queue_id",
        string="Connected Members",
        domain=[("connected", "=", True)],
    )
    connected_count = fields.Integer(
        "Connected", compute="_compute_connected", store=True
    )
    connected_agents = fields.Char(
        "Connected Agents", compute="_compute_connected", store=True
    )
    member_count = fields.Integer("Agents Count", compute="_compute_member_count")
    remote_id = fields.Char("PBX Id", copy=False, index=True, readonly=True)
    pbx_version = fields.Integer(
        "PBX Version",
        copy=False,
        readonly=True,
        help="Version of the queue on the PBX when it was last read or applied.",
    )
    pending_changes = fields.Boolean(
        copy=False,
        readonly=True,
        help="The queue was edited in Odoo and the changes are not yet applied to the PBX.",
    )
    pbx_state = fields.Selection(
        [
            ("new", "Not on the PBX yet"),
            ("pending", "Changes to apply"),
            ("applied", "In production"),
        ],
        string="PBX Status",
        compute="_compute_pbx_state",
        help="Whether the PBX runs the queue as Odoo shows it: changes made in Odoo are put "
        "in production with Apply changes.",
    )
    last_refresh = fields.Datetime("Refreshed On", readonly=True, copy=False)
    pbx_conflict_version = fields.Integer(
        copy=False,
        readonly=True,
        help="Newer PBX version found while Odoo had changes to apply (0: none).",
    )
    # Odoo-side setting of the KPIs (not sent to the PBX).
    service_level_seconds = fields.Integer(
        "Service Level Threshold (s)",
        required=True,
        default=20,
        tracking=True,
        help="A call counts toward the service level when an agent answers it within this "
        "many seconds of waiting. Used by the KPIs only; not sent to the PBX.",
    )

    # Queue KPIs: "today" is since midnight in the user's timezone; the "last 7 days" are
    # today and the 6 days before it. See KPI_FIELDS for the definitions.
    kpi_today_offered = _kpi_field("Today", *KPI_FIELDS[0][1:])
    kpi_today_answered = _kpi_field("Today", *KPI_FIELDS[1][1:])
    kpi_today_abandoned = _kpi_field("Today", *KPI_FIELDS[2][1:])
    kpi_today_timeout = _kpi_field("Today", *KPI_FIELDS[3][1:])
    kpi_today_no_agent = _kpi_field("Today", *KPI_FIELDS[4][1:])
    kpi_today_answer_rate = _kpi_field("Today", *KPI_FIELDS[5][1:])
    kpi_today_abandon_rate = _kpi_field("Today", *KPI_FIELDS[6][1:])
    kpi_today_service_level = _kpi_field("Today", *KPI_FIELDS[7][1:])
    kpi_today_avg_wait = _kpi_field("Today", *KPI_FIELDS[8][1:])
    kpi_today_max_wait = _kpi_field("Today", *KPI_FIELDS[9][1:])
    kpi_today_avg_talk = _kpi_field("Today", *KPI_FIELDS[10][1:])
    kpi_today_avg_agents = _kpi_field("Today", *KPI_FIELDS[11][1:])
    kpi_week_offered = _kpi_field("Last 7 Days", *KPI_FIELDS[0][1:])
    kpi_week_answered = _kpi_field("Last 7 Days", *KPI_FIELDS[1][1:])
    kpi_week_abandoned = _kpi_field("Last 7 Days", *KPI_FIELDS[2][1:])
    kpi_week_timeout = _kpi_field("Last 7 Days", *KPI_FIELDS[3][1:])
    kpi_week_no_agent = _kpi_field("Last 7 Days", *KPI_FIELDS[4][1:])
    kpi_week_answer_rate = _kpi_field("Last 7 Days", *KPI_FIELDS[5][1:])
    kpi_week_abandon_rate = _kpi_field("Last 7 Days", *KPI_FIELDS[6][1:])
    kpi_week_service_level = _kpi_field("Last 7 Days", *KPI_FIELDS[7][1:])
    kpi_week_avg_wait = _kpi_field("Last 7 Days", *KPI_FIELDS[8][1:])
    kpi_week_max_wait = _kpi_field("Last 7 Days", *KPI_FIELDS[9][1:])
    kpi_week_avg_talk = _kpi_field("Last 7 Days", *KPI_FIELDS[10][1:])
    kpi_week_avg_agents = _kpi_field("Last 7 Days", *KPI_FIELDS[11][1:])

    _sql_constraints = [
        (
            "extension_account_unique",
            "unique(account_id, extension)",
            "Another queue of this PBX account already has this extension.",
        ),
        (
            "remote_id_account_unique",
            "unique(account_id, remote_id)",
            "This PBX queue is already mirrored by another queue.",
        ),
    ]

    @api.depends("member_ids.connected", "member_ids.user_id.name")
    def _compute_connected(self):
        for queue in self:
            connected = queue.member_ids.filtered("connected")
            queue.connected_count = len(connected)
            queue.connected_agents = ", ".join(connected.mapped("user_id.name"))

    @api.depends("extension")
    def _compute_default_codes(self):
        """The PBX's own defaults, *<extension> and #<extension>: proposed while a code is
        empty, and following the extension in the form while it is still the default of
        the saved extension."""
        for queue in self:
            ext = queue.extension or ""
            previous = queue._origin.extension if queue._origin else None
            for field, prefix in (("login_code", "*"), ("logout_code", "#")):
                current = queue[field]
                follows = not current or (previous and current == prefix + previous)
                if follows and ext:
                    queue[field] = prefix + ext
                elif not current:
                    queue[field] = False

    @api.depends("remote_id", "pending_changes")
    def _compute_pbx_state(self):
        for queue in self:
            queue.pbx_state = (
                "new"
                if not queue.remote_id
                else ("pending" if queue.pending_changes else "applied")
            )

    def _compute_member_count(self):
        for queue in self:
            queue.member_count = len(queue.member_ids)

    @api.model
    def _check_dial_string(self, value, label):
        """Extensions, codes and numbers are dial strings (a model method, so that the
        message is translated in the user's language)."""
        if value and not DIAL_STRING.match(value):
            raise ValidationError(
                _(
                    "%(label)s “%(value)s” is not a dial string: use 1 to 20 digits, * or #.",
                    label=label,
                    value=value,
                )
            )

    @api.constrains("extension", "login_code", "logout_code", "account_id")
    def _check_dial_codes(self):
        for queue in self:
            queue._check_dial_string(queue.extension, _("The extension"))
            queue._check_dial_string(queue.login_code, _("The agent connection code"))
            queue._check_dial_string(
                queue.logout_code, _("The agent disconnection code")
            )
            if queue.login_code == queue.logout_code:
                raise ValidationError(
                    _(
                        "Queue %(queue)s: the agent connection and disconnection codes "
                        "must differ.",
                        queue=queue.name,
                    )
                )
            queue._check_codes_unique()

    def _check_codes_unique(self):
        self.ensure_one()
        codes = {self.login_code, self.logout_code}
        others = (
            self.with_context(active_test=False)
            .sudo()
            .search([("account_id", "=", self.account_id.id), ("id", "!=", self.id)])
        )
        for other in others:
            clash = codes & {other.login_code, other.logout_code}
            if clash:
                raise ValidationError(
                    _(
                        "The code %(code)s of queue %(queue)s is already a code of queue "
                        "%(other)s: codes must be unique on a PBX account.",
                        code=clash.pop(),
                        queue=self.name,
                        other=other.name,
                    )
                )
            if self.extension in (other.login_code, other.logout_code):
                raise ValidationError(
                    _(
                        "The extension %(ext)s of queue %(queue)s is already a code of queue "
                        "%(other)s: a code can never be an extension.",
                        ext=self.extension,
                        queue=self.name,
                        other=other.name,
                    )
                )
        extensions = set(others.mapped("extension")) | {self.extension}
        extensions |= set(
            self.env["res.users"]
            .with_context(active_test=False)
            .sudo()
            .search(
                [
                    ("axivox_account_id", "=", self.account_id.id),
                    ("axivox_extension", "in", list(codes)),
                ]
            )
            .mapped("axivox_extension")
        )
        clash = codes & extensions
        if clash:
            raise ValidationError(
                _(
                    "The code %(code)s of queue %(queue)s is already an extension: "
                    "a code can never be an extension.",
                    code=clash.pop(),
                    queue=self.name,
                )
            )

    @api.constrains("max_wait_time", "max_ring_time")
    def _check_times(self):
        for queue in self:
            if not 1 <= queue.max_wait_time <= MAX_WAIT_TIME:
                raise ValidationError(
                    _(
                        "The maximum waiting time of queue %(queue)s must be between 1 and "
                        "%(max)s seconds.",
                        queue=queue.name,
                        max=MAX_WAIT_TIME,
                    )
                )
            if not 1 <= queue.max_ring_time <= MAX_RING_TIME:
                raise ValidationError(
                    _(
                        "The maximum ringing time of queue %(queue)s must be between 1 and "
                        "%(max)s seconds.",
                        queue=queue.name,
                        max=MAX_RING_TIME,
                    )
                )

    @api.constrains("service_level_seconds")
    def _check_service_level_seconds(self):
        for queue in self:
            if not 1 <= queue.service_level_seconds <= MAX_SERVICE_LEVEL:
                raise ValidationError(
                    _(
                        "The service level threshold of queue %(queue)s must be between 1 and "
                        "%(max)s seconds.",
                        queue=queue.name,
                        max=MAX_SERVICE_LEVEL,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_account_allowed([vals.get("account_id") for vals in vals_list])
        if not self.env.context.get("axivox_from_pbx"):
            for vals in vals_list:
                vals.setdefault("pending_changes", True)
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("account_id"):
            self._check_account_allowed([vals["account_id"]])
        if not self.env.context.get("axivox_from_pbx") and PBX_FIELDS & set(vals):
            vals = dict(vals, pending_changes=True)
        result = super().write(vals)
        if "name" in vals:
            self._store_name_on_events()
        return result

    def _store_name_on_events(self):
        """Keep the queue's name on its report lines (they outlive the queue)."""
        if not self.ids:
            return
        Event = self.env["axivox.queue.event"]
        self.flush_recordset(["name"])
        Event.flush_model(["queue_id", "queue_name"])
        self.env.cr.execute(
            """UPDATE axivox_queue_event e SET queue_name = q.name
                 FROM axivox_queue q
                WHERE e.queue_id = q.id AND q.id = ANY(%s)
                  AND e.queue_name IS DISTINCT FROM q.name""",
            [self.ids],
        )
        Event.invalidate_model(["queue_name"])

    def unlink(self):
        """Delete deletes the queue: on the PBX first (a refusal changes nothing in Odoo),
        then in Odoo. Its report lines stay, with the queue's name. Queues that were never
        on the PBX, deletions the PBX asked for (sync) and the addon's uninstallation only
        leave Odoo."""
        if not self.env.context.get("axivox_from_pbx") and not self.env.context.get(
            MODULE_UNINSTALL_FLAG
        ):
            self.check_access_rights("unlink")
            self.check_access_rule("unlink")
            remote = self.sudo().filtered("remote_id")
            if remote:
                # The sync of these accounts waits (it could read the queue before it is
                # gone and write it back).
                self.env.cr.execute(
                    "SELECT id FROM axivox_account WHERE id = ANY(%s) FOR UPDATE",
                    [remote.account_id.ids],
                )
            for account in remote.account_id:
                queues = remote.filtered(lambda q, a=account: q.account_id == a)
                with account._pbx_errors():
                    client = account._pbx_client()
                    for queue in queues:
                        try:
                            client.delete_queue(queue.remote_id)
                        except pbx_errors.AxivoxNotFound:
                            pass  # already gone from the PBX: delete it from Odoo too
        self._store_name_on_events()
        return super().unlink()

    @api.model
    def _check_account_allowed(self, account_ids):
        """A queue can only be put on a PBX account of the user's companies. Checked before
        anything else, so that no error names another company's queues or codes."""
        if self.env.su:
            return
        accounts = self.env["axivox.account"].browse([a for a in account_ids if a])
        readable = accounts._filter_access_rules("read") if accounts else accounts
        if accounts - readable or any(
            a.company_id not in self.env.user.company_ids for a in readable.sudo()
        ):
            raise AccessError(
                _("You can only put a queue on a PBX account of your companies.")
            )

    # ------------------------------------------------------------------
    # Actions of the queues dashboard
    # ------------------------------------------------------------------
    def action_open_report(self):
        """The queue report page, filtered on these queues."""
        action = self.env["ir.actions.actions"]._for_xml_id(
            "voip_axivox_queue.axivox_queue_report_page_action"
        )
        action["context"] = {"default_queue_ids": self.ids}
        if len(self) == 1:
            action["name"] = _("Queue Report: %s", self.name)
        return action

    def action_connect_agent(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_queue_connect_wizard_action"
        )
        action["context"] = {"default_queue_id": self.id}
        return action

    def action_open_connected(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Agents of %s", self.name),
            "res_model": "axivox.queue.member",
            "view_mode": "tree,form",
            "domain": [("queue_id", "=", self.id)],
            "context": {"default_queue_id": self.id, "search_default_connected": 1},
        }

    # ------------------------------------------------------------------
    # The PBX
    # ------------------------------------------------------------------
    @api.model
    def _vals_from_pbx(self, remote):
        """Odoo values of a queue as the PBX describes it."""
        return {
            "name": remote["name"],
            "extension": remote["extension"],
            "strategy": remote["strategy"],
            "max_wait_time": remote["max_wait_time"],
            "max_ring_time": remote["max_ring_time"],
            "login_code": remote["login_code"],
            "logout_code": remote["logout_code"],
            "pbx_version": remote.get("version", 0),
        }

    def _pbx_payload(self):
        """The queue as the PBX API expects it."""
        self.ensure_one()
        members = self.sudo().member_ids
        missing = members.filtered(lambda m: not m.user_id.axivox_extension)
        if missing:
            raise UserError(
                _(
                    "%(agents)s have no PBX extension.",
                    agents=", ".join(missing.user_id.mapped("name")),
                )
            )
        return {
            "name": self.name,
            "extension": self.extension,
            "strategy": self.strategy,
            "max_wait_time": self.max_wait_time,
            "max_ring_time": self.max_ring_time,
            "login_code": self.login_code,
            "logout_code": self.logout_code,
            "static_agents": members.filtered(
                lambda m: m.member_type == "static"
            ).user_id.mapped("axivox_extension"),
            "dynamic_agents": members.filtered(
                lambda m: m.member_type == "dynamic"
            ).user_id.mapped("axivox_extension"),
        }

    def action_apply_changes(self):
        """Save the queues on the PBX and put them in production ("Apply changes")."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        for account in self.account_id:
            queues = self.filtered(lambda q: q.account_id == account)
            with account._pbx_errors():
                client = account._pbx_client()
                for queue in queues:
                    payload = queue._pbx_payload()
                    try:
                        if queue.remote_id:
                            remote = client.update_queue(
                                queue.remote_id,
                                payload,
                                version=queue.pbx_version or None,
                            )
                        else:
                            remote = client.create_queue(payload)
                    except pbx_errors.AxivoxConflict as exc:
                        raise UserError(
                            _(
                                "Queue %(queue)s was changed on the PBX since Odoo last read it: "
                                "your changes were not applied. Click Refresh to load the PBX "
                                "version, then edit and apply again.",
                                queue=queue.name,
                            )
                        ) from exc
                    queue.with_context(axivox_from_pbx=True).write(
                        {
                            "remote_id": remote["id"],
                            "pbx_version": remote.get("version", 0),
                            "pending_changes": False,
                            "pbx_conflict_version": 0,
                        }
                    )
                client.apply_changes()
            queues.message_post(body=_("Changes applied to the PBX."))
        return True

    def action_refresh_connected(self):
        """Re-read the queue (when not being edited) and its agents from the PBX (managers;
        a few times a minute at most, as it calls the PBX and writes as the superuser)."""
        queues = self or self.search([])
        queues.check_access_rights("write")
        if not self.env.user.has_group("voip_axivox_queue.group_axivox_manager"):
            raise AccessError(
                _("Only queue managers can refresh the queues from the PBX.")
            )
        if (
            not self.env["axivox.rate.limit"]
            .sudo()
            ._hit(f"refresh:{self.env.uid}", REFRESH_LIMIT, 60)
        ):
            raise UserError(
                _(
                    "The queues were refreshed many times in a short time: wait a "
                    "minute, then try again."
                )
            )
        for account in queues.account_id:
            account_queues = queues.filtered(lambda q: q.account_id == account)
            with account._pbx_errors():
                client = account._pbx_client()
                remote_agents = client.list_agents()
                remotes = {r["id"]: r for r in client.list_queues()}
            # In a transaction of its own, under the account's events lock (as the sync).
            with account._own_transaction() as env:
                own_queues = account_queues.with_env(env).sudo()
                account.with_env(env).sudo()._lock_events()
                for queue in own_queues.filtered("remote_id"):
                    if queue.remote_id in remotes:
                        queue._update_from_pbx(remotes[queue.remote_id])
                account.with_env(env).sudo()._sync_agents(
                    remote_agents, {q.remote_id: q for q in own_queues if q.remote_id}
                )
                own_queues.with_context(axivox_from_pbx=True).write(
                    {"last_refresh": fields.Datetime.now()}
                )
            account_queues.invalidate_recordset()
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def _update_from_pbx(self, remote):
        """Make the queue what the PBX says, unless it has changes to apply from Odoo: those
        are never overwritten, a newer PBX version is reported instead."""
        self.ensure_one()
        if self.pending_changes:
            if remote.get("version", 0) > self.pbx_version:
                self._note_pbx_conflict(remote)
            return
        vals = self._vals_from_pbx(remote)
        changed = {k: v for k, v in vals.items() if self[k] != v}
        if not self.active:
            changed["active"] = True
        if changed:
            self.with_context(axivox_from_pbx=True).write(changed)

    def _note_pbx_conflict(self, remote):
        """The PBX has a newer version while Odoo has unapplied changes: say it, keep both."""
        for queue in self.filtered(
            lambda q: q.pbx_conflict_version != remote.get("version")
        ):
            queue.with_context(axivox_from_pbx=True).pbx_conflict_version = remote.get(
                "version"
            )
            queue.message_post(
                body=_(
                    "The PBX has a newer version of this queue (version %(remote)s, Odoo "
                    "read version %(local)s) while it has changes not applied from Odoo. "
                    "Odoo did not overwrite either: apply your changes or refresh.",
                    remote=remote.get("version"),
                    local=queue.pbx_version,
                ),
            )

    # ------------------------------------------------------------------
    # KPIs
    # ------------------------------------------------------------------
    @api.model
    def _kpi_periods(self):
        """The KPI periods, ``{key: (start, end)}`` in naive UTC: "today" from midnight in
        the user's timezone to the next midnight, "week" from midnight 6 days before."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        now = fields.Datetime.now()
        local_today = pytz.utc.localize(now).astimezone(tz).date()

        def utc_midnight(day):
            local = tz.localize(datetime.combine(day, time.min))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        tomorrow = utc_midnight(local_today + timedelta(days=1))
        return {
            "today": (utc_midnight(local_today), tomorrow),
            "week": (utc_midnight(local_today - timedelta(days=6)), tomorrow),
        }

    @api.depends_context("tz", "uid")
    def _compute_kpis(self):
        """Every KPI field of both periods: one SQL query for the whole recordset."""
        periods = self._kpi_periods()
        kpis = self._get_kpis(periods)
        for queue in self:
            for key in periods:
                values = kpis.get(queue.id, {}).get(key) or self._kpi_empty()
                for name, value in values.items():
                    queue[f"kpi_{key}_{name}"] = value

    @api.model
    def _kpi_empty(self):
        return {
            name: 0 if kind == "integer" else 0.0
            for name, kind, _label, _help in KPI_FIELDS
        }

    def _get_kpis(self, periods):
        """The KPIs of the queues for each period, in ONE query.

        ``periods`` is ``{key: (start, end)}``, naive UTC datetimes, ``end`` excluded.
        Returns ``{queue_id: {key: {kpi: value}}}`` (see KPI_FIELDS), zeros where nothing
        happened. The events are read with SQL (agents cannot read the queue report), only
        for the queues of ``self`` that the user can read; the others get zeros.
        """
        queues = self.filtered("id")
        if not self.env.su and queues:
            if not queues.check_access_rights("read", raise_exception=False):
                queues = self.browse()
            else:
                queues = queues._filter_access_rules("read")
        result = {
            queue.id: {key: self._kpi_empty() for key in periods} for queue in self
        }
        if not queues or not periods:
            return result
        now = fields.Datetime.now()
        period_rows = []
        for key, (start, end) in periods.items():
            elapsed_end = max(start, min(end, now))
            period_rows.append(
                (
                    key,
                    start,
                    end,
                    pytz.utc.localize(start).timestamp(),
                    pytz.utc.localize(elapsed_end).timestamp(),
                )
            )
        self.env["axivox.queue.event"].flush_model(
            [
                "queue_id",
                "event_time",
                "event_ts",
                "event_type",
                "wait_time",
                "talk_time",
                "agent_extension",
                "member_type",
            ]
        )
        self.env["axivox.queue.member"].flush_model(
            ["queue_id", "member_type", "user_id"]
        )
        self.env["res.users"].flush_model(["axivox_extension"])
        values_sql = ", ".join(
            ["(%s, %s::timestamp, %s::timestamp, %s::float8, %s::float8)"]
            * len(period_rows)
        )
        params = [v for row in period_rows for v in row]
        self.env.cr.execute(
            f"""
            WITH periods(key, start_t, end_t, start_ts, end_ts) AS (VALUES {values_sql}),
            queues(id, sl) AS (SELECT * FROM unnest(%s::int[], %s::int[])),
            calls AS (
                SELECT p.key, e.queue_id,
                       COUNT(*) FILTER (WHERE e.event_type = 'ENTERQUEUE') AS offered,
                       COUNT(*) FILTER (WHERE e.event_type = 'CONNECT') AS answered,
                       COUNT(*) FILTER (WHERE e.event_type = 'ABANDON') AS abandoned,
                       COUNT(*) FILTER (WHERE e.event_type = 'EXITWITHTIMEOUT') AS timeout,
                       COUNT(*) FILTER (WHERE e.event_type = 'EXITEMPTY') AS no_agent,
                       COUNT(*) FILTER (WHERE e.event_type = 'CONNECT'
                                          AND COALESCE(e.wait_time, 0) <= q.sl) AS in_sl,
                       AVG(COALESCE(e.wait_time, 0))
                           FILTER (WHERE e.event_type = 'CONNECT') AS avg_wait,
                       MAX(COALESCE(e.wait_time, 0))
                           FILTER (WHERE e.event_type = 'CONNECT') AS max_wait,
                       AVG(COALESCE(e.talk_time, 0))
                           FILTER (WHERE e.event_type IN ('COMPLETEAGENT', 'COMPLETECALLER'))
                           AS avg_talk
                  FROM periods p
                  JOIN axivox_queue_event e
                    ON e.event_time >= p.start_t AND e.event_time < p.end_t
                  JOIN queues q ON q.id = e.queue_id
                 WHERE e.queue_id = ANY(%s)
                   AND e.event_type IN ('ENTERQUEUE', 'CONNECT', 'ABANDON', 'EXITWITHTIMEOUT',
                                        'EXITEMPTY', 'COMPLETEAGENT', 'COMPLETECALLER')
                 GROUP BY p.key, e.queue_id
            ),
            logins AS (
                -- A dynamic agent's state at the start of each period: her last login
                -- event before it (one lookup in axivox_queue_event_login_idx per
                -- agent), moved to the start ...
                SELECT p.key, m.queue_id, m.ext AS agent_extension, p.start_ts AS ts, last.id,
                       last.up, p.end_ts
                  FROM periods p
                 CROSS JOIN (SELECT mm.queue_id, u.axivox_extension AS ext
                               FROM axivox_queue_member mm
                               JOIN res_users u ON u.id = mm.user_id
                              WHERE mm.queue_id = ANY(%s) AND mm.member_type = 'dynamic'
                                AND u.axivox_extension IS NOT NULL) m
                 CROSS JOIN LATERAL (
                       SELECT e.id, e.event_type = 'ADDMEMBER' AS up
                         FROM axivox_queue_event e
                        WHERE e.queue_id = m.queue_id AND e.agent_extension = m.ext
                          AND e.event_type IN ('ADDMEMBER', 'REMOVEMEMBER')
                          AND e.event_ts < p.start_ts
                        ORDER BY e.event_ts DESC, e.id DESC
                        LIMIT 1) last
                UNION ALL
                -- ... then her login events during the elapsed part of the period.
                SELECT p.key, e.queue_id, e.agent_extension, e.event_ts, e.id,
                       e.event_type = 'ADDMEMBER', p.end_ts
                  FROM periods p
                  JOIN axivox_queue_event e
                    ON e.event_time >= p.start_t AND e.event_time < p.end_t
                 WHERE e.queue_id = ANY(%s)
                   AND e.event_type IN ('ADDMEMBER', 'REMOVEMEMBER')
                   AND e.member_type IS DISTINCT FROM 'static'
                   AND e.event_ts < p.end_ts
            ),
            intervals AS (
                SELECT key, queue_id, up, ts,
                       LEAD(ts, 1, end_ts) OVER (
                           PARTITION BY key, queue_id, agent_extension ORDER BY ts, id
                       ) AS next_ts
                  FROM logins
            ),
            connected AS (
                SELECT key, queue_id, SUM(next_ts - ts) FILTER (WHERE up) AS seconds
                  FROM intervals
                 GROUP BY key, queue_id
            ),
            statics AS (
                -- Static agents (their current membership) are connected the whole period.
                SELECT queue_id, COUNT(*) AS n
                  FROM axivox_queue_member
                 WHERE queue_id = ANY(%s) AND member_type = 'static'
                 GROUP BY queue_id
            )
            SELECT p.key, q.id, c.offered, c.answered, c.abandoned, c.timeout, c.no_agent,
                   c.in_sl, c.avg_wait, c.max_wait, c.avg_talk,
                   p.end_ts - p.start_ts, COALESCE(l.seconds, 0), COALESCE(s.n, 0)
              FROM periods p
             CROSS JOIN queues q
              LEFT JOIN calls c ON c.key = p.key AND c.queue_id = q.id
              LEFT JOIN connected l ON l.key = p.key AND l.queue_id = q.id
              LEFT JOIN statics s ON s.queue_id = q.id
        """,
            params
            + [
                queues.ids,
                [queue.service_level_seconds or 0 for queue in queues],
                queues.ids,
                queues.ids,
                queues.ids,
                queues.ids,
            ],
        )
        for (
            key,
            queue_id,
            offered,
            answered,
            abandoned,
            timeout,
            no_agent,
            in_sl,
            avg_wait,
            max_wait,
            avg_talk,
            length,
            connected,
            statics,
        ) in self.env.cr.fetchall():
            offered = offered or 0
            answered = answered or 0
            abandoned = abandoned or 0
            result[queue_id][key] = {
                "offered": offered,
                "answered": answered,
                "abandoned": abandoned,
                "timeout": timeout or 0,
                "no_agent": no_agent or 0,
                "answer_rate": answered / offered if offered else 0.0,
                "abandon_rate": abandoned / offered if offered else 0.0,
                "service_level": (in_sl or 0) / offered if offered else 0.0,
                "avg_wait": float(avg_wait or 0.0),
                "max_wait": max_wait or 0,
                "avg_talk": float(avg_talk or 0.0),
                "avg_agents": (statics + connected / length) if length > 0 else 0.0,
            }
        return result
