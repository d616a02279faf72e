"""axivox.queue.member: one agent in one queue, her login and call state."""
from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..axivox_api.events import odoo_datetime
from ..transactions import lock_events, own_transaction
from .axivox_agent_session import SESSION_SOURCES
from .axivox_event_intake import Reaction
from .axivox_queue_event import event_moment
from .bus_messages import (
    COMPANY_MANAGERS_SQL,
    MEMBER_STATE,
    managers_group_id,
    send_many,
)

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


def _pbx_time(string, **kwargs):
    """The PBX time (epoch seconds) of the last event of a kind applied to the member:
    an older event never overrides it."""
    return fields.Float(string, digits=(16, 3), readonly=True, copy=False, **kwargs)


class PBXSequence(fields.Integer):
    """The ``seq`` of a PBX event (the feed's order, up to 2**63): a bigint column."""

    column_type = ("int8", "int8")


def _pbx_seq(string, **kwargs):
    """The ``seq`` of the last event of a kind applied to the member: of two events
    of the same PBX time (Asterisk's queue_log counts whole seconds), the later in the
    feed wins."""
    return PBXSequence(string, readonly=True, copy=False, **kwargs)


def event_order(event):
    """What orders two PBX events: their time, then their place in the feed."""
    return event_moment(event["timestamp"]).timestamp(), event.get("seq") or 0


class AxivoxQueueMember(models.Model):
    """One agent in one queue: static agents are always connected, dynamic agents log
    in."""

    _name = "axivox.queue.member"
    _description = "Call Queue Agent"
    _order = "queue_id, member_type desc, user_id"
    _rec_names_search = ["user_id.name", "queue_id.name", "extension"]

    queue_id = fields.Many2one(
        "axivox.queue", required=True, index=True, ondelete="cascade"
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
    last_change_ts = _pbx_time(
        "Last Change Timestamp",
        help="The PBX time (epoch, milliseconds) of the last change applied: an older "
        "event never overrides a newer one.",
    )
    last_change_seq = _pbx_seq("Last Change Sequence")
    last_source = fields.Selection(
        CHANGE_SOURCES, string="Changed By", readonly=True, copy=False
    )
    # Who is on a queue call right now: from the PBX's CONNECT, then COMPLETEAGENT,
    # COMPLETECALLER or a transfer (the agent stays connected while she talks).
    on_call = fields.Boolean(
        "On a Call",
        readonly=True,
        copy=False,
        help="The agent is talking to a caller of this queue (since the PBX connected "
        "them).",
    )
    on_call_since = fields.Datetime("On a Call Since", readonly=True, copy=False)
    call_id = fields.Char("Current Call ID", readonly=True, copy=False)
    call_change_ts = _pbx_time(
        "Last Call Event Timestamp",
        help="The PBX time of the last call event applied: an older one never "
        "overrides it.",
    )
    call_change_seq = _pbx_seq("Last Call Event Sequence")
    # For the agent sessions: the login change Odoo asked the PBX for, so that the
    # PBX's event is known to come from the softphone, a manager or the end-of-day
    # logout.
    login_intent = fields.Selection(SESSION_SOURCES, readonly=True, copy=False)
    login_intent_connect = fields.Boolean(readonly=True, copy=False)
    login_intent_ts = fields.Float(digits=(16, 3), readonly=True, copy=False)

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
                        "%(user)s has no PBX extension: map the user to an extension "
                        "before adding her to queue %(queue)s.",
                        user=user.name,
                        queue=member.queue_id.name,
                    )
                )
            if user.axivox_account_id != member.queue_id.account_id:
                raise ValidationError(
                    _(
                        "The extension of %(user)s belongs to another PBX account than "
                        "queue %(queue)s.",
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
        if not self.env.context.get("axivox_no_pending_change"):
            members.queue_id.sudo().write({"pending_changes": True})
        return members

    def write(self, vals):
        if not self.env.context.get("axivox_no_pending_change") and {
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
        if not self.env.context.get("axivox_no_pending_change"):
            self.queue_id.sudo().write({"pending_changes": True})
        return super().unlink()

    def _check_can_disconnect(self):
        static = self.filtered(lambda m: m.member_type == "static")
        if static:
            raise UserError(
                _(
                    "%(agent)s is a static agent of %(queue)s: static agents are "
                    "always connected and cannot be disconnected.",
                    agent=static[0].user_id.name,
                    queue=static[0].queue_id.name,
                )
            )

    # ------------------------------------------------------------------
    # Login state
    # ------------------------------------------------------------------
    def action_connect(self):
        """Manager's "Connect": the PBX logs the dynamic agent in, then Odoo mirrors
        it."""
        return self._pbx_set_connected(True, "manager")

    def action_disconnect(self):
        """Manager's "Disconnect" (for agents who forgot to log out)."""
        self._check_can_disconnect()
        return self._pbx_set_connected(False, "manager")

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
                        "Queue %(queue)s is not on the PBX yet: apply its changes "
                        "first.",
                        queue=member.queue_id.name,
                    )
                )
            account = member.queue_id.account_id
            with account._pbx_errors():
                client = account._pbx_client()
                change = client.connect_agent if connected else client.disconnect_agent
                agent = change(member.queue_id.remote_id, member.extension)
            # Applied in a transaction of its own, under the account's events lock:
            # never in conflict with the PBX events that webhooks apply at the same
            # moment.
            with own_transaction(account.env) as env:
                member.with_env(env).sudo()._set_login_state_now(
                    bool(agent.get("connected", connected)),
                    source,
                    since=agent.get("connected_since"),
                )._notify_state()
            member.invalidate_recordset()
        return True

    def _set_login_state_now(self, connected, source, since=None):
        """Set a login state Odoo changed or read from the PBX itself (manager, sync,
        end of day), under the account's events lock, stamped now like a PBX event and
        after the last change applied: a late, older PBX event never undoes it. Returns
        the members that changed."""
        lock_events(self.env, self.account_id.ids)
        self.invalidate_recordset(
            ["connected", "connected_since", "last_change_ts", "last_change_seq"]
        )
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
        if source in ("manager", "auto"):
            self.env["axivox.agent.session"]._note_local_change(self, connected, source)
        return changed

    def _set_login_state_if_newer(
        self, connected, when, source, ts=None, since=None, seq=0
    ):
        """Set the login state of these members as of ``when``, unless a newer change
        was applied already.

        ``ts`` (epoch seconds), then ``seq`` (the event's place in the PBX's feed) order
        PBX events: a state older than the one applied is ignored, so a late "agent is
        disconnecting" never undoes a newer "connecting". Returns the members that
        changed."""
        changed = self.browse()
        for member in self:
            if (
                ts is not None
                and member.last_change_ts
                and (ts, seq) <= (member.last_change_ts, member.last_change_seq or 0)
            ):
                continue
            if member.member_type == "static" and not connected:
                continue
            vals = {"last_change": when, "last_source": source}
            if ts is not None:
                vals["last_change_ts"] = ts
                vals["last_change_seq"] = seq
            if member.connected != connected:
                vals["connected"] = connected
                vals["connected_since"] = (
                    odoo_datetime(since) or when if connected else False
                )
                changed |= member
            member.with_context(axivox_no_pending_change=True).write(vals)
        return changed

    @api.model
    def _react_login(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: the login states of ``new_events``."""
        changed = self._ingest_login_events(
            batch.account, new_events, batch.queues, batch.users
        )
        return Reaction(notifications=tuple(changed._state_messages()))

    @api.model
    def _react_calls(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: who is on a queue call after
        ``new_events``."""
        changed = self._ingest_call_events(
            batch.account, new_events, batch.queues, batch.users
        )
        return Reaction(notifications=tuple(changed._state_messages()))

    @api.model
    def _ingest_login_events(self, account, events, queues, users):
        """Apply the PBX's ADDMEMBER / REMOVEMEMBER events among the newly stored
        ``events`` of a batch to the members' login state.

        Only the newest event of each (queue, agent) counts, and only if it is newer
        than the last change applied to the member. A dynamic agent the PBX logs in who
        is not yet mirrored gets a member row; an extension no user is mapped to stays
        on the event only. Returns the members that changed."""
        latest = self._newest_per_member(
            events, {"ADDMEMBER", "REMOVEMEMBER"}, queues, users
        )
        if not latest:
            return self.browse()
        Member = self.sudo().with_context(axivox_no_pending_change=True)
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
                odoo_datetime(event_moment(event["timestamp"])),
                "pbx",
                ts=ts,
                seq=event.get("seq") or 0,
            )
        return changed

    @api.model
    def _newest_per_member(self, events, types, queues, users):
        """{(queue id, user id): (timestamp, event)}: the newest event of ``types`` for
        each mirrored queue and mapped agent of a batch (by time, then by ``seq``)."""
        latest, order = {}, {}
        for event in events:
            if event["type"] not in types:
                continue
            queue = queues.get(event["queue_id"])
            user = users.get(event.get("agent_extension"))
            if not queue or not user:
                continue
            key = (queue.id, user.id)
            rank = event_order(event)
            if key not in order or rank > order[key]:
                order[key] = rank
                latest[key] = (rank[0], event)
        return latest

    @api.model
    def _ingest_call_events(self, account, events, queues, users):
        """Who is on a queue call: a CONNECT puts the agent on the call, the end of the
        call (COMPLETEAGENT, COMPLETECALLER) or its transfer takes her off it. Only the
        newest event of each (queue, agent) counts, and only if newer than the last one
        applied; the end of another call than the one she is on changes nothing. One
        UPDATE for the whole batch. Returns the members that changed."""
        latest = self._newest_per_member(events, CALL_START | CALL_END, queues, users)
        if not latest:
            return self.browse()
        fields_ = [
            "on_call",
            "call_id",
            "on_call_since",
            "call_change_ts",
            "call_change_seq",
        ]
        self.flush_model(fields_)
        rows = [
            (
                queue_id,
                user_id,
                ts,
                event.get("seq") or 0,
                event["type"] in CALL_START,
                event.get("call_id") or None,
                odoo_datetime(event_moment(event["timestamp"])),
                self.env.uid,
            )
            for (queue_id, user_id), (ts, event) in latest.items()
        ]
        updated = self.env.cr.execute_values(
            """
            UPDATE axivox_queue_member m
               SET on_call = v.start,
                   call_id = CASE WHEN v.start THEN v.call_id END,
                   on_call_since = CASE WHEN v.start THEN v.since END,
                   call_change_ts = v.ts, call_change_seq = v.seq,
                   write_uid = v.uid, write_date = now() AT TIME ZONE 'UTC'
              FROM (VALUES %s) v(queue_id, user_id, ts, seq, start, call_id, since,
                                 uid)
             WHERE m.queue_id = v.queue_id AND m.user_id = v.user_id
               AND (v.ts, v.seq) > (COALESCE(m.call_change_ts, 0),
                                    COALESCE(m.call_change_seq, 0))
               AND (v.start OR COALESCE(m.call_id, '') = '' OR v.call_id IS NULL
                    OR m.call_id = v.call_id)
            RETURNING m.id
            """,
            rows,
            template="(%s::int, %s::int, %s::float8, %s::int8, %s, %s, %s::timestamp, "
            "%s::int)",
            page_size=len(rows),
            fetch=True,
        )
        self.invalidate_model(fields_ + ["write_uid", "write_date"])
        return self.browse(sorted(row[0] for row in updated))

    def _notify_state(self):
        """Tell the agents and the managers, in every open tab, that these members
        changed, now."""
        messages = self._state_messages()
        if messages:
            send_many(self.env, messages)

    def _state_messages(self):
        """The bus messages that tell the agents and the managers, in every open tab,
        that these members changed: one query."""
        if not self:
            return []
        self.flush_model()
        self.env["axivox.queue"].flush_model(
            ["name", "company_id", "connected_count", "connected_agents"]
        )
        managers = COMPANY_MANAGERS_SQL.format(company="q.company_id")
        self.env.cr.execute(
            f"""
            SELECT m.id AS member_id, q.id AS queue_id, q.name AS queue_name,
                   u.id AS user_id, p.name AS agent_name, m.connected,
                   m.connected_since, m.last_source AS source, q.connected_count,
                   q.connected_agents, m.on_call, m.on_call_since, u.partner_id,
                   ARRAY(SELECT mgr.partner_id
                           FROM ({managers}) mgr
                          WHERE mgr.partner_id != u.partner_id
                          ORDER BY mgr.user_id) AS manager_partners
              FROM axivox_queue_member m
              JOIN axivox_queue q ON q.id = m.queue_id
              JOIN res_users u ON u.id = m.user_id
              JOIN res_partner p ON p.id = u.partner_id
             WHERE m.id = ANY(%(members)s)
             ORDER BY m.id
            """,
            {"managers": managers_group_id(self.env), "members": self.ids},
        )
        messages = []
        Partner = self.env["res.partner"]
        for row in self.env.cr.dictfetchall():
            partners = [row.pop("partner_id"), *row.pop("manager_partners")]
            payload = dict(
                row,
                connected=bool(row["connected"]),
                connected_since=fields.Datetime.to_string(row["connected_since"]),
                source=row["source"] or False,
                connected_count=row["connected_count"] or 0,
                connected_agents=row["connected_agents"] or "",
                on_call=bool(row["on_call"]),
                on_call_since=fields.Datetime.to_string(row["on_call_since"]),
            )
            messages += [
                (Partner.browse(pid), MEMBER_STATE, payload) for pid in partners
            ]
        return messages
