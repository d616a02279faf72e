"""The call queue (axivox.queue): its fields, defaults and checks, and the tracking of
the changes to apply to the PBX.

Its exchanges with the PBX (apply, refresh, delete) are in axivox_queue_pbx.py, its KPIs
in axivox_queue_kpi.py.
"""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG

from ..axivox_api import rules

MAX_SERVICE_LEVEL = 3600  # one hour

# Fields that describe the queue on the PBX: editing them leaves changes to apply.
PBX_FIELDS = frozenset(rules.QUEUE_CONFIG_FIELDS)


def _members(member_type, string):
    """The queue's agents of one type (static or dynamic)."""
    return fields.One2many(
        "axivox.queue.member",
        "queue_id",
        string=string,
        domain=[("member_type", "=", member_type)],
        context={"default_member_type": member_type},
    )


def _agent_code(string, **kwargs):
    """A code agents dial to log into or out of the queue: by default made from the
    queue's extension (``_compute_default_codes``), editable."""
    return fields.Char(
        string,
        required=True,
        tracking=True,
        compute="_compute_default_codes",
        store=True,
        readonly=False,
        precompute=True,
        **kwargs,
    )


def _seconds(string, **kwargs):
    """A duration setting of the queue, in seconds: required and tracked."""
    return fields.Integer(string, required=True, tracking=True, **kwargs)


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
        list(rules.STRATEGIES),
        required=True,
        default="ringall",
        tracking=True,
        help="How incoming calls are routed to the agents of the queue.",
    )
    max_wait_time = _seconds(
        "Maximum Waiting Time (s)",
        default=300,
        help="Longest time a caller waits in the queue before going to the next step "
        "of the dial plan.",
    )
    max_ring_time = _seconds(
        "Maximum Ringing at an Agent (s)",
        default=20,
        help="Longest time one agent's phone rings before the next agent is tried.",
    )
    login_code = _agent_code(
        "Agent Connection Code",
        help="Number an agent dials to log into the queue (by default * and the "
        "queue's extension, as on the PBX).",
    )
    logout_code = _agent_code(
        "Agent Disconnection Code",
        help="Number an agent dials to log out of the queue (by default # and the "
        "queue's extension, as on the PBX).",
    )
    member_ids = fields.One2many("axivox.queue.member", "queue_id", string="Agents")
    static_member_ids = _members("static", "Static Agents")
    dynamic_member_ids = _members("dynamic", "Dynamic Agents")
    connected_member_ids = fields.One2many(
        "axivox.queue.member",
        "queue_id",
        string="Connected Members",
        domain=[("connected", "=", True)],
    )
    connected_count = fields.Integer(
        "Connected", compute="_compute_connected", store=True
    )
    connected_agents = fields.Char(compute="_compute_connected", store=True)
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
        help="The queue was edited in Odoo and the changes are not yet applied to the "
        "PBX.",
    )
    pbx_state = fields.Selection(
        [
            ("new", "Not on the PBX yet"),
            ("pending", "Changes to apply"),
            ("applied", "In production"),
        ],
        string="PBX Status",
        compute="_compute_pbx_state",
        help="Whether the PBX runs the queue as Odoo shows it: changes made in Odoo "
        "are put in production with Apply changes.",
    )
    last_refresh = fields.Datetime("Refreshed On", readonly=True, copy=False)
    pbx_conflict_version = fields.Integer(
        copy=False,
        readonly=True,
        help="Newer PBX version found while Odoo had changes to apply (0: none).",
    )
    # Odoo-side setting of the KPIs (not sent to the PBX).
    service_level_seconds = _seconds(
        "Service Level Threshold (s)",
        default=20,
        help="A call counts toward the service level when an agent answers it within "
        "this many seconds of waiting. Used by the KPIs only; not sent to the PBX.",
    )

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
        """The PBX's own defaults, *<extension> and #<extension>: proposed while a code
        is empty, and following the extension in the form while it is still the default
        of the saved extension."""
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
        if value and not rules.is_dial_string(value):
            raise ValidationError(
                _(
                    "%(label)s “%(value)s” is not a dial string: use 1 to 20 digits, * "
                    "or #.",
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
                        "The code %(code)s of queue %(queue)s is already a code of "
                        "queue %(other)s: codes must be unique on a PBX account.",
                        code=clash.pop(),
                        queue=self.name,
                        other=other.name,
                    )
                )
            if self.extension in (other.login_code, other.logout_code):
                raise ValidationError(
                    _(
                        "The extension %(ext)s of queue %(queue)s is already a code of "
                        "queue %(other)s: a code can never be an extension.",
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
            if not 1 <= queue.max_wait_time <= rules.MAX_WAIT_TIME:
                raise ValidationError(
                    _(
                        "The maximum waiting time of queue %(queue)s must be between 1 "
                        "and %(max)s seconds.",
                        queue=queue.name,
                        max=rules.MAX_WAIT_TIME,
                    )
                )
            if not 1 <= queue.max_ring_time <= rules.MAX_RING_TIME:
                raise ValidationError(
                    _(
                        "The maximum ringing time of queue %(queue)s must be between 1 "
                        "and %(max)s seconds.",
                        queue=queue.name,
                        max=rules.MAX_RING_TIME,
                    )
                )

    @api.constrains("service_level_seconds")
    def _check_service_level_seconds(self):
        for queue in self:
            if not 1 <= queue.service_level_seconds <= MAX_SERVICE_LEVEL:
                raise ValidationError(
                    _(
                        "The service level threshold of queue %(queue)s must be "
                        "between 1 and %(max)s seconds.",
                        queue=queue.name,
                        max=MAX_SERVICE_LEVEL,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_account_allowed([vals.get("account_id") for vals in vals_list])
        if not self.env.context.get("axivox_no_pending_change"):
            for vals in vals_list:
                vals.setdefault("pending_changes", True)
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("account_id"):
            self._check_account_allowed([vals["account_id"]])
        if not self.env.context.get("axivox_no_pending_change") and PBX_FIELDS & set(
            vals
        ):
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
        """Delete deletes the queue: on the PBX first (a refusal changes nothing in
        Odoo), then in Odoo. Its report lines stay, with the queue's name. Queues that
        were never on the PBX, deletions the PBX asked for (sync) and the addon's
        uninstallation only leave Odoo."""
        if not self.env.context.get(
            "axivox_no_pending_change"
        ) and not self.env.context.get(MODULE_UNINSTALL_FLAG):
            self.check_access_rights("unlink")
            self.check_access_rule("unlink")
            self._delete_on_pbx()
        self._store_name_on_events()
        return super().unlink()

    @api.model
    def _check_account_allowed(self, account_ids):
        """A queue can only be put on a PBX account of the user's companies. Checked
        before anything else, so that no error names another company's queues or
        codes."""
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
