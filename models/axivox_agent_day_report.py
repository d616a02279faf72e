"""axivox.agent.day.report: per agent and day, logged-in time and calls, kept up to
date at ingestion from the agent sessions and the queue events."""
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools.sql import create_index

from .axivox_event_intake import Reaction
from .axivox_queue_event import event_moment


def static_hours_sql(user, company, day, since=None):
    """SQL: the hours of ``day`` a static agent is connected from ``since`` (the day's
    start if None) up to now or the day's end, once per active queue of ``company`` she
    is a static agent of. A static agent never logs in: she is always connected."""
    start = f"GREATEST({since}, {day}::timestamp)" if since else f"{day}::timestamp"
    return f"""(
        (SELECT COUNT(*) FROM axivox_queue_member m
           JOIN axivox_queue q ON q.id = m.queue_id AND q.active
          WHERE m.member_type = 'static' AND m.user_id = {user}
            AND m.company_id IS NOT DISTINCT FROM {company})
        * GREATEST(EXTRACT(epoch FROM LEAST(now() AT TIME ZONE 'UTC',
                                            {day} + interval '1 day') - {start}), 0)
        / 3600.0)"""


# The rules of an agent's call figures of a day, for the Python that adds new events
# (``_add_events``) and the SQL that counts them again (``E_DAY_PAIRS``, ``E_DAY_ALL``):
# each figure's events, and the event's field it adds up (None: it counts the events).
FIGURES = {
    "answered": (("CONNECT",), None),
    "talk": (("COMPLETEAGENT", "COMPLETECALLER"), "talk_time"),
    "missed": (("RINGNOANSWER",), None),
}
# Events that count in the report.
REPORT_EVENTS = tuple(t for events, _field in FIGURES.values() for t in events)


def _types_sql(types):
    """SQL: ``e.event_type`` is one of ``types`` (constant names, no input)."""
    return "e.event_type IN (%s)" % ", ".join(f"'{t}'" for t in types)


def _figure_sql(name):
    """SQL: the aggregate of figure ``name`` over the events ``e`` of a group."""
    types, field = FIGURES[name]
    if field is None:
        return f"COUNT(*) FILTER (WHERE {_types_sql(types)})"
    return f"COALESCE(SUM(e.{field}) FILTER (WHERE {_types_sql(types)}), 0)"


# The figures of a group of events ``e``, as the report's columns.
FIGURES_SQL = (
    f"{_figure_sql('answered')} AS answered, "
    f"{_figure_sql('talk')} / 60.0 AS talk_minutes, "
    f"{_figure_sql('missed')} AS missed"
)

# The figures of (agent, day) pairs, from the agent sessions, the static agents and the
# queue events: ``k`` is the CTE of the pairs (all of them: the whole history).
REPORT_SQL = (
    """
    sess AS (
        -- Each session cut into its days (only the sessions of the agents and days of
        -- k).
        SELECT s.company_id, s.user_id, d::date AS day, s.start_time, s.end_time,
               GREATEST(s.start_time, d) AS a,
               LEAST(COALESCE(s.end_time, now() AT TIME ZONE 'UTC'),
                     d + interval '1 day') AS b
          FROM axivox_agent_session s
         CROSS JOIN LATERAL generate_series(
               date_trunc('day', s.start_time),
               date_trunc('day', COALESCE(s.end_time, now() AT TIME ZONE 'UTC')),
               interval '1 day') d
         WHERE s.user_id IN (SELECT user_id FROM k)
           AND s.start_time < (SELECT MAX(day) FROM k) + interval '1 day'
           AND COALESCE(s.end_time, now() AT TIME ZONE 'UTC') > (SELECT MIN(day) FROM k)
           AND (s.user_id, d::date) IN (SELECT user_id, day FROM k)
    ),
    s_day AS (
        SELECT company_id, user_id, day,
               SUM(EXTRACT(epoch FROM b - a)) / 3600.0 AS logged_hours,
               MIN(start_time) FILTER (WHERE start_time >= day) AS first_login,
               MAX(end_time) FILTER (WHERE end_time < day + 1) AS last_logout
          FROM sess GROUP BY company_id, user_id, day
    ),
    e_day AS ({e_day})
    INSERT INTO axivox_agent_day_report (
        day, user_id, company_id, logged_hours, answered, talk_minutes, missed,
            first_login,
        last_logout, create_uid, write_uid, create_date, write_date)
    SELECT day, user_id, company_id, logged_hours + """
    + static_hours_sql("pair.user_id", "pair.company_id", "pair.day")
    + """,
           answered, talk_minutes, missed, first_login, last_logout, %(uid)s, %(uid)s,
           now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
      FROM (
        SELECT COALESCE(s.day, e.day) AS day, COALESCE(s.user_id, e.user_id) AS user_id,
               COALESCE(s.company_id, e.company_id) AS company_id,
               COALESCE(s.logged_hours, 0) AS logged_hours,
               COALESCE(e.answered, 0) AS answered,
               COALESCE(e.talk_minutes, 0) AS talk_minutes,
               COALESCE(e.missed, 0) AS missed, s.first_login, s.last_logout
          FROM s_day s
          FULL OUTER JOIN e_day e
            ON e.user_id = s.user_id AND e.day = s.day AND e.company_id = s.company_id
      ) pair
"""
)
# The report events of the pairs of k (few pairs: index ranges of the agents' days) ...
E_DAY_PAIRS = f"""
        SELECT e.company_id, k.user_id, k.day,
               {FIGURES_SQL}
          FROM k
          JOIN axivox_queue_event e
            ON e.agent_user_id = k.user_id AND e.agent_user_id IS NOT NULL
           AND e.event_time >= k.day
           AND e.event_time < k.day + interval '1 day'
           AND {_types_sql(REPORT_EVENTS)}
         GROUP BY e.company_id, k.user_id, k.day
"""
# ... or of every pair (the whole history: one pass over the events).
E_DAY_ALL = f"""
        SELECT e.company_id, e.agent_user_id AS user_id, e.event_time::date AS day,
               {FIGURES_SQL}
          FROM axivox_queue_event e
         WHERE e.agent_user_id IS NOT NULL
           AND {_types_sql(REPORT_EVENTS)}
         GROUP BY e.company_id, e.agent_user_id, e.event_time::date
"""
# What the report is computed from (flushed first): the sessions, the static agents of
# the active queues, the events.
REPORT_MODELS = (
    "axivox.agent.session",
    "axivox.queue.member",
    "axivox.queue",
    "axivox.queue.event",
)


class AxivoxAgentDayReport(models.Model):
    """Per agent and day (UTC): logged-in time (a static agent's is the whole day: she
    is always connected), calls answered and missed, talk time, first login and last
    logout. Kept up to date at ingestion for the (agent, day) pairs a batch touches, so
    that reading a year of it is reading a small table."""

    _name = "axivox.agent.day.report"
    _description = "Agent Day Report"
    _order = "day desc, user_id"
    _rec_name = "day"

    day = fields.Date(readonly=True, required=True, index=True)
    user_id = fields.Many2one(
        "res.users",
        string="Agent",
        readonly=True,
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one("res.company", readonly=True, index=True)
    logged_hours = fields.Float(
        "Logged In (h)",
        readonly=True,
        help="Hours connected to queues that day (each queue counts: two queues at "
        "once count twice); an open session counts until the report is opened. A "
        "static agent is always connected: each queue she is a static agent of counts "
        "the whole day (today: up to when the report is opened).",
    )
    answered = fields.Integer(
        "Calls Answered", readonly=True, help="CONNECT events of the agent that day."
    )
    talk_minutes = fields.Float(
        "Talk Time (min)",
        readonly=True,
        help="Talk time of her queue calls that ended that day (COMPLETEAGENT and "
        "COMPLETECALLER).",
    )
    missed = fields.Integer(
        "Calls Missed", readonly=True, help="RINGNOANSWER events of the agent that day."
    )
    always_connected = fields.Boolean(
        compute="_compute_always_connected",
        help="A static agent of a queue: always connected, she never logs in; her "
        "logged-in time counts the whole day.",
    )
    first_login = fields.Datetime(readonly=True, group_operator="min")
    last_logout = fields.Datetime(readonly=True, group_operator="max")

    @api.depends("user_id")
    def _compute_always_connected(self):
        """A static agent has no login sessions: she is always connected (one query for
        the whole recordset)."""
        static = {
            user.id
            for [user] in self.env["axivox.queue.member"]
            .sudo()
            ._read_group(
                [("user_id", "in", self.user_id.ids), ("member_type", "=", "static")],
                ["user_id"],
            )
        }
        for row in self:
            row.always_connected = row.user_id.id in static

    def init(self):
        res = super().init()
        # The events of an agent on a day: one index range.
        create_index(
            self.env.cr,
            "axivox_queue_event_agent_day_idx",
            "axivox_queue_event",
            ["agent_user_id", "event_time"],
            where="agent_user_id IS NOT NULL",
        )
        return res

    @api.model
    def _refresh(self, pairs):
        """Compute again the rows of ``pairs`` {(user id, date)}: one query."""
        pairs = {(u, d) for u, d in pairs if u and d}
        if not pairs:
            return
        for model in REPORT_MODELS + (self._name,):
            self.env[model].flush_model()
        users = [p[0] for p in pairs]
        days = [p[1] for p in pairs]
        # The rows of the pairs are deleted and made again in one statement.
        self.env.cr.execute(
            """
            WITH k(user_id, day) AS (
                SELECT * FROM unnest(%(users)s::int[], %(days)s::date[])),
            gone AS (
                DELETE FROM axivox_agent_day_report r USING k
                 WHERE r.user_id = k.user_id AND r.day = k.day),
            """
            + REPORT_SQL.replace("{e_day}", E_DAY_PAIRS),
            {"users": users, "days": days, "uid": self.env.uid},
        )
        self.invalidate_model()

    @api.model
    def _react_day_report(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: the days whose sessions changed (in an
        earlier layer) are computed again; the calls of the other days are added to
        them."""
        self._refresh(earlier.session_days)
        self._add_events(
            new_events, batch.users, batch.company_id, skip=earlier.session_days
        )
        return Reaction()

    @api.model
    def _add_events(self, new_events, users, company_id, skip=()):
        """Add the calls of ``new_events`` (stored for the first time) to their
        agents' days, except the (user, day) pairs of ``skip`` (computed again in full):
        one statement, which adds to the row or makes it. Each event is added once, as
        ingestion applies it once, so this equals a refresh of those days."""
        totals = {}
        for event in new_events:
            user = users.get(event.get("agent_extension"))
            if event["type"] not in REPORT_EVENTS or not user:
                continue
            key = (user.id, event_moment(event["timestamp"]).date())
            if key in skip:
                continue
            figures = totals.setdefault(key, dict.fromkeys(FIGURES, 0))
            for name, (types, field) in FIGURES.items():
                if event["type"] in types:
                    figures[name] += (event.get(field) or 0) if field else 1
        if not totals:
            return
        for model in ("axivox.queue.member", "axivox.queue", self._name):
            self.env[model].flush_model()
        keys = list(totals)
        self.env.cr.execute(
            """
            WITH v(user_id, day, answered, talk, missed) AS (
                SELECT * FROM unnest(%(users)s::int[], %(days)s::date[],
                                     %(answered)s::int[], %(talk)s::int[],
                                     %(missed)s::int[])),
            up AS (
                UPDATE axivox_agent_day_report r
                   SET logged_hours = r.logged_hours + """
            + static_hours_sql("r.user_id", "r.company_id", "r.day", "r.write_date")
            + """,
                       answered = r.answered + v.answered,
                       talk_minutes = r.talk_minutes + v.talk / 60.0,
                       missed = r.missed + v.missed,
                       write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                  FROM v
                 WHERE r.user_id = v.user_id AND r.day = v.day
                   AND r.company_id = %(company)s
             RETURNING r.user_id, r.day)
            INSERT INTO axivox_agent_day_report (
                day, user_id, company_id, logged_hours, answered, talk_minutes, missed,
                create_uid, write_uid, create_date, write_date)
            SELECT v.day, v.user_id, %(company)s, """
            + static_hours_sql("v.user_id", "%(company)s", "v.day")
            + """, v.answered, v.talk / 60.0,
                   v.missed, %(uid)s, %(uid)s, now() AT TIME ZONE 'UTC',
                   now() AT TIME ZONE 'UTC'
              FROM v
             WHERE NOT EXISTS (
                   SELECT 1 FROM up WHERE up.user_id = v.user_id AND up.day = v.day)
            """,
            {
                "users": [k[0] for k in keys],
                "days": [k[1] for k in keys],
                **{name: [totals[k][name] for k in keys] for name in FIGURES},
                "company": company_id,
                "uid": self.env.uid,
            },
        )
        self.invalidate_model()

    @api.model
    def _refresh_all(self):
        """Every row again, from the whole history (on install)."""
        for model in REPORT_MODELS + (self._name,):
            self.env[model].flush_model()
        self.env.cr.execute("DELETE FROM axivox_agent_day_report")
        self.env.cr.execute("ANALYZE axivox_agent_session")
        self.env.cr.execute(
            """
            WITH k(user_id, day) AS (
                SELECT DISTINCT s.user_id, d::date
                  FROM axivox_agent_session s
                 CROSS JOIN LATERAL generate_series(
                       date_trunc('day', s.start_time),
                       date_trunc('day', COALESCE(s.end_time,
                           now() AT TIME ZONE 'UTC')),
                       interval '1 day') d
                 WHERE s.user_id IS NOT NULL),
        """
            + REPORT_SQL.replace("{e_day}", E_DAY_ALL),
            {"uid": self.env.uid},
        )
        self.invalidate_model()

    @api.model
    def _pairs_of_sessions(self, rows):
        """The (user, day) pairs that sessions ``rows`` [(user id, start, end)] span."""
        today = fields.Date.today()
        pairs = set()
        for user_id, start, end in rows:
            if not user_id or not start:
                continue
            day, last = start.date(), (end.date() if end else today)
            while day <= last:
                pairs.add((user_id, day))
                day += timedelta(days=1)
        return pairs

    @api.model
    def action_open_report(self):
        """The report (managers), with the days of the sessions still open in the
        user's companies brought up to now."""
        self.check_access_rights("read")
        Session = self.env["axivox.agent.session"].sudo()
        opened = Session.search_fetch(
            [("is_open", "=", True), ("company_id", "in", self.env.companies.ids)],
            ["user_id", "start_time"],
        )
        pairs = self._pairs_of_sessions(
            [(s.user_id.id, s.start_time, None) for s in opened]
        )
        # The days of static agents counted before their end (today's, or a day whose
        # last figures came before midnight): brought up to now too.
        self.env["axivox.queue.member"].flush_model(["user_id", "member_type"])
        self.env.cr.execute(
            """
            SELECT r.user_id, r.day FROM axivox_agent_day_report r
             WHERE r.write_date < r.day + interval '1 day'
               AND r.company_id IN %s
               AND EXISTS (SELECT 1 FROM axivox_queue_member m
                            WHERE m.user_id = r.user_id AND m.member_type = 'static')
            """,
            [tuple(self.env.companies.ids)],
        )
        pairs.update(self.env.cr.fetchall())
        self.sudo()._refresh(pairs)
        return self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_agent_day_report_action"
        )
