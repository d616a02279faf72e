from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..axivox_api.events import odoo_datetime, parse_timestamp

CALL_START = {"CONNECT"}
CALL_END = {"COMPLETEAGENT", "COMPLETECALLER", "ATTENDEDTRANSFER", "BLINDTRANSFER"}
MEMBER_TYPES = [("static", "Static"), ("dynamic", "Dynamic")]
CHANGE_SOURCES = [
    ("pbx", "PBX event"),
    ("sync", "Sync"),
    ("widget", "Softphone"),
    ("manager", "Manager"),
    ("auto", "End of day"),
]


class AxivoxQueueMember(models.Model):
    """One agent in one queue: static agents are always connected, dynamic agents log in."""

    _name = "axivox.queue.member"
    _description = "Call Queue Agent"
    _order = "queue_id, member_type desc, user_id"
    _rec_names_search = ["user_id.name", "queue_id.name", "extension"]

    queue_id = fields.Many2one(
        "axivox.queue", string="Queue", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(
        "res.users",
        string="Agent",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("share", "=", False)],
    )
    account_id = fields.Many2one(related="queue_id.account_id", store=True, index=True)
    company_id = fields.Many2one(related="queue_id.company_id", store=True, index=True)
    extension = fields.Char(related="user_id.axivox_extension", string="Extension")
    member_type = fields.Selection(
        MEMBER_TYPES,
        string="Type",
        required=True,
        default="dynamic",
        help="Static agents are always connected; dynamic agents must log in.",
    )
    connected = fields.Boolean(
        compute="_compute_connected", store=True, readonly=False, precompute=True
    )
    connected_since = fields.Datetime(readonly=True, copy=False)
    last_change = fields.Datetime(
        readonly=True, copy=False, help="Time of the last login state change applied."
    )
    last_change_ts = fields.Float(
        "Last Change Timestamp",
        digits=(16, 3),
        readonly=True,
        copy=False,
        help="The PBX time (epoch, milliseconds) of the last change applied: an older "
        "event never overrides a newer one.",
    )
    last_source = fields.Selection(
        CHANGE_SOURCES, string="Changed By", readonly=True, copy=False
    )
    # Who is on a queue call right now: from the PBX's CONNECT, then COMPLETEAGENT,
    # COMPLETECALLER or a transfer (the agent stays connected while she talks).
    on_call = fields.Boolean(
        "On a Call",
        readonly=True,
        copy=False,
        help="The agent is talking to a caller of this queue (since the PBX connected them).",
    )
    on_call_since = fields.Datetime("On a Call Since", readonly=True, copy=False)
    call_id = fields.Char("Current Call ID", readonly=True, copy=False)
    call_change_ts = fields.Float(
        "Last Call Event Timestamp",
        digits=(16, 3),
        readonly=True,
        copy=False,
        help="The PBX time of the last call event applied: an older one never overrides it.",
    )

    _sql_constraints = [
        (
            "queue_user_unique",
            "unique(queue_id, user_id)",
            "An agent can belong to a queue only once.",
        ),
        (
            "static_connected",
            "check(member_type = 'dynamic' or connected)",
            "A static agent is always connected.",
        ),
    ]

    @api.depends("member_type")
    def _compute_connected(self):
        for member in self:
            member.connected = member.member_type == "static" or member.connected

    @api.depends("user_id", "queue_id")
    def _compute_display_name(self):
        for member in self:
            member.display_name = (
                f"{member.user_id.name} ({member.queue_id.name})"
                if member.queue_id
                else member.user_id.name or ""
            )

    @api.constrains("user_id", "queue_id")
    def _check_user_extension(self):
        for member in self:
            user = member.user_id.sudo()
            if not user.axivox_extension:
                raise ValidationError(
                    _(
                        "%(user)s has no PBX extension: map the user to an extension before "
                        "adding her to queue %(queue)s.",
                        user=user.name,
                        queue=member.queue_id.name,
                    )
                )
            if user.axivox_account_id != member.queue_id.account_id:
                raise ValidationError(
                    _(
                        "The extension of %(user)s belongs to another PBX account than queue "
                        "%(queue)s.",
                        user=user.name,
                        queue=member.queue_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        members = super().create(vals_list)
        now = fields.Datetime.now()
        for member in members.filtered("connected"):
            member.connected_since = member.connected_since or now
        if not self.env.context.get("axivox_from_pbx"):
            members.queue_id.sudo().write({"pending_changes": True})
        return members

    def write(self, vals):
        if not self.env.context.get("axivox_from_pbx") and {
            "member_type",
            "user_id",
            "queue_id",
        } & set(vals):
            queues = self.queue_id | self.env["axivox.queue"].browse(
                vals.get("queue_id")
            )
            queues.sudo().write({"pending_changes": True})
        if vals.get("member_type") == "static" and "connected" not in vals:
            vals = dict(vals, connected=True)
        return super().write(vals)

    def unlink(self):
        if not self.env.context.get("axivox_from_pbx"):
            self.queue_id.sudo().write({"pending_changes": True})
        return super().unlink()

    def _check_can_disconnect(self):
        static = self.filtered(lambda m: m.member_type == "static")
        if static:
            raise UserError(
                _(
                    "%(agent)s is a static agent of %(queue)s: static agents are always "
                    "connected and cannot be disconnected.",
                    agent=static[0].user_id.name,
                    queue=static[0].queue_id.name,
                )
            )

    # ------------------------------------------------------------------
    # Login state
    # ------------------------------------------------------------------
    def action_connect(self):
        """Manager's "Connect": the PBX logs the dynamic agent in, then Odoo mirrors it."""
        return self._pbx_set_connected(True, "manager")

    def action_disconnect(self):
        """Manager's "Disconnect" (for agents who forgot to log out)."""
        self._check_can_disconnect()
        return self._pbx_set_connected(False, "manager")

    def action_softphone_connect(self):
        """The agent's own Connect button: dial the queue's agent connection code."""
        return self._softphone_dial(True)

    def action_softphone_disconnect(self):
        """The agent's own Disconnect button: dial the queue's agent disconnection code."""
        return self._softphone_dial(False)

    def _softphone_dial(self, connect):
        """Dial the login / logout code from the agent's extension, as she would on the pad.

        The PBX plays its two-second message and hangs up; the login state changes when
        its ADDMEMBER / REMOVEMEMBER event arrives, not before.
        """
        self.ensure_one()
        member = self.sudo()
        if member.user_id != self.env.user:
            raise UserError(_("You can only log yourself in or out of a queue."))
        if member.member_type == "static":
            raise UserError(
                _(
                    "You are a static agent of %(queue)s: you are always connected.",
                    queue=member.queue_id.name,
                )
            )
        code = member.queue_id.login_code if connect else member.queue_id.logout_code
        info = self.env["res.users"].axivox_dial(code)
        return dict(info, member_id=member.id, queue_id=member.queue_id.id)

    def _pbx_set_connected(self, connected, source):
        self.check_access_rights("write")
        self.check_access_rule("write")
        for member in self:
            if member.member_type == "static":
                if connected:
                    continue
                member._check_can_disconnect()
            if not member.queue_id.remote_id:
                raise UserError(
                    _(
                        "Queue %(queue)s is not on the PBX yet: apply its changes first.",
                        queue=member.queue_id.name,
                    )
                )
            account = member.queue_id.account_id
            with account._pbx_errors():
                client = account._pbx_client()
                if connected:
                    agent = client.connect_agent(
                        member.queue_id.remote_id, member.extension
                    )
                else:
                    agent = client.disconnect_agent(
                        member.queue_id.remote_id, member.extension
                    )
            # Applied in a transaction of its own, under the account's events lock: never in
            # conflict with the PBX events that webhooks apply at the same moment.
            with account._own_transaction() as env:
                member.with_env(env).sudo()._set_login_state_now(
                    bool(agent.get("connected", connected)),
                    source,
                    since=agent.get("connected_since"),
                )._notify_state()
            member.invalidate_recordset()
        return True

    def _set_login_state_now(self, connected, source, since=None):
        """Set a login state Odoo changed or read from the PBX itself (manager, sync, end
        of day), under the account's events lock, stamped now like a PBX event and after
        the last change applied: a late, older PBX event never undoes it. Returns the
        members that changed."""
        self.account_id._lock_events()
        self.invalidate_recordset(["connected", "connected_since", "last_change_ts"])
        now = fields.Datetime.now()
        changed = self.browse()
        for member in self:
            changed |= member._set_login_state_if_newer(
                connected,
                now,
                source,
                ts=max(now.timestamp(), member.last_change_ts + 0.001),
                since=since,
            )
        return changed

    def _set_login_state_if_newer(self, connected, when, source, ts=None, since=None):
        """Set the login state of these members as of ``when``, unless a newer change was
        applied already.

        ``ts`` (epoch seconds) orders PBX events: a state older than the one applied is
        ignored, so a late "agent is disconnecting" never undoes a newer "connecting".
        Returns the members that changed.
        """
        changed = self.browse()
        for member in self:
            if ts is not None and member.last_change_ts and ts <= member.last_change_ts:
                continue
            if member.member_type == "static" and not connected:
                continue
            vals = {"last_change": when, "last_source": source}
            if ts is not None:
                vals["last_change_ts"] = ts
            if member.connected != connected:
                vals["connected"] = connected
                vals["connected_since"] = (
                    odoo_datetime(since) or when if connected else False
                )
                changed |= member
            member.with_context(axivox_from_pbx=True).write(vals)
        return changed

    @api.model
    def _ingest_login_events(self, account, events, queues, users):
        """Apply the PBX's ADDMEMBER / REMOVEMEMBER events among the newly stored
        ``events`` of a batch to the members' login state.

        Only the newest event of each (queue, agent) counts, and only if it is newer than
        the last change applied to the member. A dynamic agent the PBX logs in who is not
        yet mirrored gets a member row; an extension no user is mapped to stays on the
        event only.
        """
        latest = self._newest_per_member(
            events, {"ADDMEMBER", "REMOVEMEMBER"}, queues, users
        )
        if not latest:
            return self.browse()
        Member = self.sudo().with_context(axivox_from_pbx=True)
        members = {
            (m.queue_id.id, m.user_id.id): m
            for m in Member.search(
                [
                    ("queue_id", "in", list({k[0] for k in latest})),
                    ("user_id", "in", list({k[1] for k in latest})),
                ]
            )
        }
        missing = [
            key
            for key, (ts, event) in latest.items()
            if key not in members and event["type"] == "ADDMEMBER"
        ]
        if missing:
            created = Member.create(
                [
                    {
                        "queue_id": queue_id,
                        "user_id": user_id,
                        "member_type": "dynamic",
                        "connected": False,
                    }
                    for queue_id, user_id in missing
                ]
            )
            members.update({(m.queue_id.id, m.user_id.id): m for m in created})
        changed = self.browse()
        for key, (ts, event) in latest.items():
            member = members.get(key)
            if not member:
                continue
            changed |= member._set_login_state_if_newer(
                event["type"] == "ADDMEMBER",
                odoo_datetime(event["timestamp"]),
                "pbx",
                ts=ts,
            )
        changed._notify_state()
        return changed

    @api.model
    def _newest_per_member(self, events, types, queues, users):
        """{(queue id, user id): (timestamp, event)}: the newest event of ``types`` for each
        mirrored queue and mapped agent of a batch."""
        latest = {}
        for event in events:
            if event["type"] not in types:
                continue
            queue = queues.get(event["queue_id"])
            user = users.get(event.get("agent_extension"))
            if not queue or not user:
                continue
            ts = parse_timestamp(event["timestamp"]).timestamp()
            key = (queue.id, user.id)
            if key not in latest or ts > latest[key][0]:
                latest[key] = (ts, event)
        return latest

    @api.model
    def _ingest_call_events(self, account, events, queues, users):
        """Who is on a queue call: a CONNECT puts the agent on the call, the end of the call
        (COMPLETEAGENT, COMPLETECALLER) or its transfer takes her off it. Only the newest
        event of each (queue, agent) counts, and only if newer than the last one applied.
        Returns the members that changed."""
        latest = self._newest_per_member(events, CALL_START | CALL_END, queues, users)
        if not latest:
            return self.browse()
        Member = self.sudo().with_context(axivox_from_pbx=True)
        members = Member.search(
            [
                ("queue_id", "in", list({k[0] for k in latest})),
                ("user_id", "in", list({k[1] for k in latest})),
            ]
        )
        changed = self.browse()
        for member in members:
            found = latest.get((member.queue_id.id, member.user_id.id))
            if not found or found[0] <= member.call_change_ts:
                continue
            ts, event = found
            if event["type"] in CALL_START:
                vals = {
                    "on_call": True,
                    "call_id": event.get("call_id"),
                    "on_call_since": odoo_datetime(event["timestamp"]),
                }
            elif (
                member.call_id
                and event.get("call_id")
                and event.get("call_id") != member.call_id
            ):
                continue  # the end of another call than the one she is on
            else:
                vals = {"on_call": False, "call_id": False, "on_call_since": False}
            vals["call_change_ts"] = ts
            member.write(vals)
            changed |= member
        changed._notify_state()
        return changed

    def _notify_state(self):
        """Tell the agents and the managers, in every open tab, that these members changed."""
        if not self:
            return
        managers = self.env.ref("voip_axivox_queue.group_axivox_manager").sudo().users
        notifications = []
        for member in self.sudo():
            queue = member.queue_id
            payload = {
                "member_id": member.id,
                "queue_id": queue.id,
                "queue_name": queue.name,
                "user_id": member.user_id.id,
                "agent_name": member.user_id.name,
                "connected": member.connected,
                "connected_since": fields.Datetime.to_string(member.connected_since),
                "source": member.last_source,
                "connected_count": queue.connected_count,
                "connected_agents": queue.connected_agents or "",
                "on_call": member.on_call,
                "on_call_since": fields.Datetime.to_string(member.on_call_since),
            }
            targets = (
                member.user_id.partner_id
                | managers.filtered(
                    lambda u: queue.company_id in u.company_ids
                ).partner_id
            )
            notifications += [
                (partner, "voip_axivox_queue/member_state", payload)
                for partner in targets
            ]
        self.env["bus.bus"]._sendmany(notifications)
