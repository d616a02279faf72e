"""axivox.agent.session: the login periods of agents in queues, rebuilt at ingestion
from the stored ADDMEMBER / REMOVEMEMBER events."""
from odoo import api, fields, models

from .axivox_account_owned_mixin import queue_field
from .axivox_event_intake import Reaction
from .axivox_queue_event import event_moment

SESSION_SOURCES = [
    ("widget", "Softphone"),
    ("phone", "Desk phone"),
    ("manager", "Manager"),
    ("auto", "End-of-day logout"),
    ("sync", "Sync"),
]
# How long after Odoo asked for a login change (softphone, manager, end of day) the
# PBX's event is taken as its result.
INTENT_WINDOW = 120


class AxivoxAgentSession(models.Model):
    """One login period of an agent in a queue, from an ADDMEMBER event to the next
    REMOVEMEMBER event (open while she is logged in). Built from the stored events, so a
    late or out-of-order event rebuilds the periods it falls in."""

    _name = "axivox.agent.session"
    _description = "Agent Session"
    _order = "start_time desc, id desc"
    _inherit = ["axivox.account.owned.mixin"]

    company_id = fields.Many2one(index=True)
    queue_id = queue_field(required=True)
    agent_extension = fields.Char("Extension", required=True, readonly=True)
    user_id = fields.Many2one("res.users", string="Agent", index=True, readonly=True)
    start_time = fields.Datetime("Start", required=True, readonly=True, index=True)
    start_ts = fields.Float(digits=(16, 3), required=True, readonly=True)
    end_time = fields.Datetime("End", readonly=True)
    end_ts = fields.Float(digits=(16, 3), readonly=True)
    is_open = fields.Boolean(
        "Open", readonly=True, help="The agent is still logged in."
    )
    duration = fields.Float(
        "Duration (h)",
        compute="_compute_duration",
        help="Hours logged in (until now for an open session).",
    )
    start_source = fields.Selection(SESSION_SOURCES, string="Started By", readonly=True)
    end_source = fields.Selection(SESSION_SOURCES, string="Ended By", readonly=True)

    def init(self):
        res = super().init()
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS axivox_agent_session_key_idx
                ON axivox_agent_session (queue_id, agent_extension, start_ts DESC)
        """
        )
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS axivox_agent_session_user_idx
                ON axivox_agent_session (user_id, start_time)
        """
        )
        return res

    def _compute_duration(self):
        now = fields.Datetime.now()
        for session in self:
            end = session.end_time or now
            session.duration = (
                max(0.0, (end - session.start_time).total_seconds() / 3600.0)
                if session.start_time
                else 0.0
            )

    @api.depends("user_id", "queue_id", "agent_extension")
    def _compute_display_name(self):
        for session in self:
            agent = session.user_id.name or session.agent_extension
            session.display_name = f"{agent} ({session.queue_id.name})"

    # ------------------------------------------------------------------
    # Ingestion
    # ------------------------------------------------------------------
    @api.model
    def _react_sessions(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: the sessions that ``new_events`` log in or
        out; says which (agent, day) pairs they changed."""
        spans = self._update_from_events(
            batch.account, new_events, batch.queues, batch.users, batch.source
        )
        Report = self.env["axivox.agent.day.report"]
        return Reaction(session_days=frozenset(Report._pairs_of_sessions(spans)))

    @api.model
    def _update_from_events(self, account, new_events, queues, users, source):
        """Rebuild the sessions of the (queue, agent) pairs that ``new_events`` log in
        or out, from the first period such an event falls in. Order-safe: the stored
        events decide, not the order of arrival. A few queries whatever the number of
        events."""
        keys = {}
        for event in new_events:
            if event["type"] not in ("ADDMEMBER", "REMOVEMEMBER") or not event.get(
                "agent_extension"
            ):
                continue
            queue = queues.get(event["queue_id"])
            if not queue:
                continue
            ts = event_moment(event["timestamp"]).timestamp()
            key = (queue.id, event["agent_extension"])
            keys[key] = min(ts, keys.get(key, ts))
        if not keys:
            return []
        self._note_event_sources(account, new_events, queues, users, source)
        return self._rebuild(account, keys)

    @api.model
    def _note_event_sources(self, account, new_events, queues, users, source):
        """Store how each new login event came about: the softphone, a manager or the
        end-of-day logout when Odoo asked for it just before, else the desk phone (or
        the sync when the event came through it)."""
        Member = self.env["axivox.queue.member"].sudo()
        logins = [e for e in new_events if e["type"] in ("ADDMEMBER", "REMOVEMEMBER")]
        pairs = {
            (queues[e["queue_id"]].id, users[e["agent_extension"]].id)
            for e in logins
            if queues.get(e["queue_id"]) and users.get(e.get("agent_extension"))
        }
        intents = {}
        if pairs and self._has_intents():
            for member in Member.search(
                [
                    ("queue_id", "in", [p[0] for p in pairs]),
                    ("user_id", "in", [p[1] for p in pairs]),
                    ("login_intent", "!=", False),
                ]
            ):
                intents[(member.queue_id.id, member.user_id.id)] = member
        # Only the events Odoo asked for are written: the others are read as the desk
        # phone, or the sync when they came through it (see _rebuild).
        rows = []
        used = Member.browse()
        for event in logins:
            queue, user = (
                queues.get(event["queue_id"]),
                users.get(event.get("agent_extension")),
            )
            member = intents.get((queue.id, user.id)) if queue and user else None
            ts = event_moment(event["timestamp"]).timestamp()
            if (
                member
                and member.login_intent_connect == (event["type"] == "ADDMEMBER")
                and abs(ts - member.login_intent_ts) <= INTENT_WINDOW
            ):
                rows.append((event["id"], member.login_intent))
                used |= member
        if used:
            used.with_context(axivox_no_pending_change=True).write(
                {"login_intent": False}
            )
        if rows:
            self.env["axivox.queue.event"].flush_model()
            self.env.cr.execute(
                """
                UPDATE axivox_queue_event e SET login_source = v.how
                  FROM unnest(%s::varchar[], %s::varchar[]) v(pbx_id, how)
                 WHERE e.account_id = %s AND e.pbx_event_id = v.pbx_id
            """,
                [[r[0] for r in rows], [r[1] for r in rows], account.id],
            )
            self.env["axivox.queue.event"].invalidate_model(["login_source"])

    @api.model
    def _has_intents(self):
        """Whether Odoo asked for a login change lately (most batches: no)."""
        self.env["axivox.queue.member"].flush_model(["login_intent"])
        self.env.cr.execute(
            "SELECT 1 FROM axivox_queue_member WHERE login_intent IS NOT NULL "
            "LIMIT 1"
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _rebuild(self, account, keys):
        """Rebuild the sessions of ``keys`` ``{(queue id, extension): from ts}`` (a ts
        of None: from the first event)."""
        self.flush_model()
        self.env["axivox.queue.event"].flush_model()
        cr = self.env.cr
        key_list = list(keys)
        queue_ids = [k[0] for k in key_list]
        exts = [k[1] for k in key_list]
        froms = [keys[k] if keys[k] is not None else -1.0 for k in key_list]
        # The start of the period each first new event falls in (or the event itself);
        # the sessions from there on are made again.
        cr.execute(
            """
            WITH k(queue_id, ext, from_ts) AS (
                SELECT * FROM unnest(%s::int[], %s::varchar[], %s::float8[])),
            a AS (
                SELECT k.queue_id, k.ext, LEAST(k.from_ts, COALESCE((
                    SELECT s.start_ts FROM axivox_agent_session s
                     WHERE s.queue_id = k.queue_id AND s.agent_extension = k.ext
                       AND s.start_ts <= k.from_ts
                     ORDER BY s.start_ts DESC LIMIT 1), k.from_ts)) AS anchor
                  FROM k)
            DELETE FROM axivox_agent_session s USING a
             WHERE s.queue_id = a.queue_id AND s.agent_extension = a.ext
               AND s.start_ts >= a.anchor
            RETURNING s.user_id, s.start_time, s.end_time, a.queue_id, a.ext, a.anchor
        """,
            [queue_ids, exts, froms],
        )
        spans = []
        anchors = dict(zip(key_list, froms, strict=True))
        for user_id, start, end, queue_id, ext, anchor in cr.fetchall():
            spans.append((user_id, start, end))
            anchors[(queue_id, ext)] = min(anchor, anchors[(queue_id, ext)])
        cr.execute(
            """
            SELECT e.queue_id, e.agent_extension, e.event_type, e.event_ts,
                e.event_time,
                   e.agent_user_id, e.company_id,
                   COALESCE(e.login_source, CASE WHEN e.source = 'sync' THEN 'sync'
                                                 ELSE 'phone' END)
              FROM unnest(%s::int[], %s::varchar[], %s::float8[]) a(queue_id, ext,
                  anchor)
              JOIN axivox_queue_event e
                ON e.queue_id = a.queue_id AND e.agent_extension = a.ext
               AND e.event_type IN ('ADDMEMBER', 'REMOVEMEMBER')
                   AND e.event_ts >= a.anchor
             ORDER BY e.queue_id, e.agent_extension, e.event_ts, e.id
        """,
            [queue_ids, exts, [anchors[k] for k in key_list]],
        )
        rows = []
        uid = self.env.uid
        current = {}
        for queue_id, ext, kind, ts, moment, user_id, company_id, how in cr.fetchall():
            key = (queue_id, ext)
            start = current.get(key)
            if kind == "ADDMEMBER":
                if start is None:
                    current[key] = (ts, moment, user_id, company_id, how or "phone")
            elif start is not None:
                rows.append(
                    (
                        account.id,
                        company_id,
                        queue_id,
                        ext,
                        user_id or start[2],
                        start[1],
                        start[0],
                        moment,
                        ts,
                        False,
                        start[4],
                        how or "phone",
                        uid,
                        uid,
                    )
                )
                current[key] = None
        for (queue_id, ext), start in current.items():
            if start is not None:
                rows.append(
                    (
                        account.id,
                        start[3],
                        queue_id,
                        ext,
                        start[2],
                        start[1],
                        start[0],
                        None,
                        None,
                        True,
                        start[4],
                        None,
                        uid,
                        uid,
                    )
                )
        spans += [(r[4], r[5], r[7]) for r in rows]
        if rows:
            cr.execute_values(
                """
                INSERT INTO axivox_agent_session (
                    account_id, company_id, queue_id, agent_extension, user_id,
                        start_time,
                    start_ts, end_time, end_ts, is_open, start_source, end_source,
                        create_uid,
                    write_uid, create_date, write_date)
                SELECT v.*, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                  FROM (VALUES %s) v
            """,
                rows,
                template="(%s::int, %s::int, %s::int, %s, %s::int, %s::timestamp, "
                "%s::float8, %s::timestamp, %s::float8, %s, %s, %s, %s::int, "
                "%s::int)",
                page_size=1000,
            )
        self.invalidate_model()
        return spans

    @api.model
    def _rebuild_all(self):
        """Every session again, from the stored events (on install)."""
        self.env["axivox.queue.event"].flush_model()
        self.env.cr.execute(
            """
            SELECT DISTINCT e.account_id, e.queue_id, e.agent_extension
              FROM axivox_queue_event e
             WHERE e.event_type IN ('ADDMEMBER', 'REMOVEMEMBER')
               AND e.queue_id IS NOT NULL AND e.agent_extension IS NOT NULL
        """
        )
        by_account = {}
        for account_id, queue_id, ext in self.env.cr.fetchall():
            by_account.setdefault(account_id, {})[(queue_id, ext)] = None
        for account_id, keys in by_account.items():
            self._rebuild(self.env["axivox.account"].browse(account_id), keys)
        self.env["axivox.agent.day.report"]._refresh_all()

    # ------------------------------------------------------------------
    # Odoo-side login changes: who asked
    # ------------------------------------------------------------------
    @api.model
    def _note_local_change(self, members, connected, source):
        """Odoo asked the PBX to log ``members`` in or out (``source``: widget, manager,
        auto): remember it for the PBX's event to come, and name the source of such an
        event that already came."""
        if source not in dict(SESSION_SOURCES) or not members:
            return
        now = fields.Datetime.now().timestamp()
        members = members.sudo()
        members.with_context(axivox_no_pending_change=True).write(
            {
                "login_intent": source,
                "login_intent_connect": connected,
                "login_intent_ts": now,
            }
        )
        Event = self.env["axivox.queue.event"]
        Event.flush_model()
        self.flush_model()
        kind = "ADDMEMBER" if connected else "REMOVEMEMBER"
        column, ts_column = (
            ("start_source", "start_ts") if connected else ("end_source", "end_ts")
        )
        for member in members:
            ext = member.user_id.axivox_extension
            # The event that came first is the latest of its kind in the window, and
            # only if no source was given to it yet: an earlier login of hers that was
            # already told (or one of her desk phone) is not this one, and taking it
            # would lose the intent of the event to come.
            self.env.cr.execute(
                """
                UPDATE axivox_queue_event SET login_source = %s
                 WHERE id = (
                        SELECT id FROM axivox_queue_event
                         WHERE queue_id = %s AND agent_extension = %s
                           AND event_type = %s AND event_ts BETWEEN %s AND %s
                         ORDER BY event_ts DESC, id DESC
                         LIMIT 1)
                   AND login_source IS NULL
                RETURNING event_ts
            """,
                [source, member.queue_id.id, ext, kind, now - INTENT_WINDOW, now + 5],
            )
            stamps = [row[0] for row in self.env.cr.fetchall()]
            if stamps:
                self.env.cr.execute(
                    f"""
                    UPDATE axivox_agent_session SET {column} = %s
                     WHERE queue_id = %s AND agent_extension = %s AND {ts_column}
                         = ANY(%s)
                """,
                    [source, member.queue_id.id, ext, stamps],
                )
                member.with_context(axivox_no_pending_change=True).login_intent = False
        Event.invalidate_model(["login_source"])
        self.invalidate_model()
