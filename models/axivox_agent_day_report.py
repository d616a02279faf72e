from odoo import fields, models, tools


class AxivoxAgentDayReport(models.Model):
    """Per agent and day (UTC): logged-in time, calls answered and missed, talk time, first
    login and last logout. Read from the agent sessions and the queue events."""

    _name = "axivox.agent.day.report"
    _description = "Agent Day Report"
    _auto = False
    _order = "day desc, user_id"
    _rec_name = "day"

    day = fields.Date(readonly=True)
    user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    logged_hours = fields.Float(
        "Logged In (h)", readonly=True, group_operator="sum",
        help="Hours logged into queues that day (each queue counts: two queues at once "
        "count twice); an open session counts until now.")
    answered = fields.Integer(
        "Calls Answered", readonly=True, help="CONNECT events of the agent that day.")
    talk_minutes = fields.Float(
        "Talk Time (min)", readonly=True,
        help="Talk time of her queue calls that ended that day (COMPLETEAGENT and "
        "COMPLETECALLER).")
    missed = fields.Integer(
        "Calls Missed", readonly=True, help="RINGNOANSWER events of the agent that day.")
    first_login = fields.Datetime(readonly=True, group_operator="min")
    last_logout = fields.Datetime(readonly=True, group_operator="max")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(f"""
            CREATE VIEW {self._table} AS (
                WITH sess AS (
                    SELECT s.company_id, s.user_id, d::date AS day, s.start_time, s.end_time,
                           GREATEST(s.start_time, d) AS a,
                           LEAST(COALESCE(s.end_time, now() AT TIME ZONE 'UTC'),
                                 d + interval '1 day') AS b
                      FROM axivox_agent_session s
                     CROSS JOIN LATERAL generate_series(
                           date_trunc('day', s.start_time),
                           date_trunc('day', COALESCE(s.end_time, now() AT TIME ZONE 'UTC')),
                           interval '1 day') d
                     WHERE s.user_id IS NOT NULL
                ),
                s_day AS (
                    SELECT company_id, user_id, day,
                           SUM(EXTRACT(epoch FROM b - a)) / 3600.0 AS logged_hours,
                           MIN(start_time) FILTER (WHERE start_time >= day) AS first_login,
                           MAX(end_time) FILTER (WHERE end_time < day + 1) AS last_logout
                      FROM sess GROUP BY company_id, user_id, day
                ),
                e_day AS (
                    SELECT company_id, agent_user_id AS user_id, event_time::date AS day,
                           COUNT(*) FILTER (WHERE event_type = 'CONNECT') AS answered,
                           COALESCE(SUM(talk_time) FILTER (
                               WHERE event_type IN ('COMPLETEAGENT', 'COMPLETECALLER')), 0)
                               / 60.0 AS talk_minutes,
                           COUNT(*) FILTER (WHERE event_type = 'RINGNOANSWER') AS missed
                      FROM axivox_queue_event
                     WHERE agent_user_id IS NOT NULL
                       AND event_type IN ('CONNECT', 'COMPLETEAGENT', 'COMPLETECALLER',
                                          'RINGNOANSWER')
                     GROUP BY company_id, agent_user_id, event_time::date
                )
                SELECT (COALESCE(s.user_id, e.user_id)::bigint * 100000
                        + (COALESCE(s.day, e.day) - date '2000-01-01')) AS id,
                       COALESCE(s.day, e.day) AS day,
                       COALESCE(s.user_id, e.user_id) AS user_id,
                       COALESCE(s.company_id, e.company_id) AS company_id,
                       COALESCE(s.logged_hours, 0) AS logged_hours,
                       COALESCE(e.answered, 0) AS answered,
                       COALESCE(e.talk_minutes, 0) AS talk_minutes,
                       COALESCE(e.missed, 0) AS missed,
                       s.first_login, s.last_logout
                  FROM s_day s
                  FULL OUTER JOIN e_day e
                    ON e.user_id = s.user_id AND e.day = s.day AND e.company_id = s.company_id
            )
        """)
