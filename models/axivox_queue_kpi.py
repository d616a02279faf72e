"""The KPIs of axivox.queue: each KPI defined once, by name, in ``KPIS``.

Its fields (``kpi_<period>_<name>`` for each period of ``KPI_PERIODS``), its SQL
aggregate (a column named after it) and its value are all made from that one entry:
the order of the entries changes nothing but the order of the fields.

A call's events are counted in the period in which the PBX logged them (their time),
not the period in which the call entered the queue.
"""

from collections import namedtuple

import pytz

from odoo import api, fields, models

# kind: "integer", "float" or "percent" (a ratio between 0 and 1); sql: the aggregate
# over the period's call events ``e`` of queue ``q`` (column named after the KPI), or
# None; value: the KPI from the row of named columns (see _KPI_QUERY).
Kpi = namedtuple("Kpi", "kind label help sql value")


def _count(event_type):
    return f"COUNT(*) FILTER (WHERE e.event_type = '{event_type}')"


def _ratio(part, whole):
    return (part or 0) / whole if whole else 0.0


KPIS = {
    "offered": Kpi(
        "integer",
        "Calls",
        "Calls offered: ENTERQUEUE events of the queue in the period.",
        _count("ENTERQUEUE"),
        lambda row: row["offered"] or 0,
    ),
    "answered": Kpi(
        "integer",
        "Answered",
        "Calls answered: CONNECT events (a caller connected to an agent) in the "
        "period.",
        _count("CONNECT"),
        lambda row: row["answered"] or 0,
    ),
    "abandoned": Kpi(
        "integer",
        "Abandoned",
        "Calls abandoned: ABANDON events (the caller hung up while waiting) in the "
        "period.",
        _count("ABANDON"),
        lambda row: row["abandoned"] or 0,
    ),
    "timeout": Kpi(
        "integer",
        "Timed Out",
        "Calls timed out: EXITWITHTIMEOUT events (the caller reached the maximum "
        "waiting time) in the period.",
        _count("EXITWITHTIMEOUT"),
        lambda row: row["timeout"] or 0,
    ),
    "no_agent": Kpi(
        "integer",
        "No Agent",
        "Calls that found no agent: EXITEMPTY events (no agent connected) in the "
        "period.",
        _count("EXITEMPTY"),
        lambda row: row["no_agent"] or 0,
    ),
    "answer_rate": Kpi(
        "percent",
        "Answer Rate",
        "Answered calls / calls offered in the period (0 when no call was offered).",
        None,
        lambda row: _ratio(row["answered"], row["offered"]),
    ),
    "abandon_rate": Kpi(
        "percent",
        "Abandon Rate",
        "Abandoned calls / calls offered in the period (0 when no call was offered).",
        None,
        lambda row: _ratio(row["abandoned"], row["offered"]),
    ),
    "service_level": Kpi(
        "percent",
        "Service Level",
        "Calls answered within the queue's service level threshold (CONNECT events "
        "whose waiting time is at most the threshold, in seconds) / calls offered in "
        "the period (0 when no call was offered).",
        # the column: the calls answered within the threshold
        "COUNT(*) FILTER (WHERE e.event_type = 'CONNECT'"
        " AND COALESCE(e.wait_time, 0) <= q.sl)",
        lambda row: _ratio(row["service_level"], row["offered"]),
    ),
    "avg_wait": Kpi(
        "float",
        "Average Waiting Time (s)",
        "Average waiting time of the answered calls: mean waiting time of the "
        "CONNECT events of the period, in seconds (0 when no call was answered).",
        "AVG(COALESCE(e.wait_time, 0)) FILTER (WHERE e.event_type = 'CONNECT')",
        lambda row: float(row["avg_wait"] or 0.0),
    ),
    "max_wait": Kpi(
        "integer",
        "Longest Waiting Time (s)",
        "Longest waiting time of an answered call: largest waiting time of the "
        "CONNECT events of the period, in seconds (0 when no call was answered).",
        "MAX(COALESCE(e.wait_time, 0)) FILTER (WHERE e.event_type = 'CONNECT')",
        lambda row: row["max_wait"] or 0,
    ),
    "avg_talk": Kpi(
        "float",
        "Average Talk Time (s)",
        "Average talk time: mean talk time of the calls that ended in the period "
        "(COMPLETEAGENT and COMPLETECALLER events; transferred calls are not "
        "counted), in seconds (0 when no call ended).",
        "AVG(COALESCE(e.talk_time, 0))"
        " FILTER (WHERE e.event_type IN ('COMPLETEAGENT', 'COMPLETECALLER'))",
        lambda row: float(row["avg_talk"] or 0.0),
    ),
    "avg_agents": Kpi(
        "float",
        "Average Connected Agents",
        "Average number of agents connected to the queue over the elapsed part of "
        "the period (from its start to now, or to its end if it is over): each "
        "static agent of the queue counts as connected the whole time; a dynamic "
        "agent is connected from an ADDMEMBER event to the next REMOVEMEMBER event "
        "(for the queue's current dynamic agents, the state at the start of the "
        "period is that of their last such event before it). Total connected time "
        "of all agents divided by the length of the period.",
        None,
        lambda row: (
            row["statics"] + row["connected"] / row["length"]
            if row["length"] > 0
            else 0.0
        ),
    ),
}

# The KPI periods: "today" is since midnight in the user's time zone; the "last 7
# days" are today and the 6 days before it (the report's presets of the same names).
KPI_PERIODS = {
    "today": ("Today", "today"),
    "week": ("Last 7 Days", "last_7_days"),
}

# The events the call KPIs read (the login events are read apart).
_CALL_EVENTS = (
    "ENTERQUEUE",
    "CONNECT",
    "ABANDON",
    "EXITWITHTIMEOUT",
    "EXITEMPTY",
    "COMPLETEAGENT",
    "COMPLETECALLER",
)
_CALL_KPIS = tuple(name for name, kpi in KPIS.items() if kpi.sql)

# {periods} and {call_columns} are filled in from the periods and KPIS; the values are
# query parameters. Every column of the result is read by name.
_KPI_QUERY = """
    WITH periods(key, start_t, end_t, start_ts, end_ts) AS (VALUES {periods}),
    queues(id, sl) AS (SELECT * FROM unnest(%(queue_ids)s::int[], %(sl)s::int[])),
    calls AS (
        SELECT p.key, e.queue_id, {call_columns}
          FROM periods p
          JOIN axivox_queue_event e
            ON e.event_time >= p.start_t AND e.event_time < p.end_t
          JOIN queues q ON q.id = e.queue_id
         WHERE e.queue_id = ANY(%(queue_ids)s)
           AND e.event_type IN %(call_events)s
           AND e.event_time >= %(first_start)s AND e.event_time < %(last_end)s
         GROUP BY p.key, e.queue_id
    ),
    logins AS (
        -- A dynamic agent's state at the start of each period: her last login
        -- event before it (one lookup in axivox_queue_event_login_idx per
        -- agent), moved to the start ...
        SELECT p.key, m.queue_id, m.ext AS agent_extension, p.start_ts AS ts,
               last.id, last.up, p.end_ts
          FROM periods p
         CROSS JOIN (SELECT mm.queue_id, u.axivox_extension AS ext
                       FROM axivox_queue_member mm
                       JOIN res_users u ON u.id = mm.user_id
                      WHERE mm.queue_id = ANY(%(queue_ids)s)
                        AND mm.member_type = 'dynamic'
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
         WHERE e.queue_id = ANY(%(queue_ids)s)
           AND e.event_type IN ('ADDMEMBER', 'REMOVEMEMBER')
           AND e.event_time >= %(first_start)s AND e.event_time < %(last_end)s
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
         WHERE queue_id = ANY(%(queue_ids)s) AND member_type = 'static'
         GROUP BY queue_id
    )
    SELECT p.key, q.id AS queue_id, {result_columns},
           p.end_ts - p.start_ts AS length,
           COALESCE(l.seconds, 0) AS connected,
           COALESCE(s.n, 0) AS statics
      FROM periods p
     CROSS JOIN queues q
      LEFT JOIN calls c ON c.key = p.key AND c.queue_id = q.id
      LEFT JOIN connected l ON l.key = p.key AND l.queue_id = q.id
      LEFT JOIN statics s ON s.queue_id = q.id
"""


def _kpi_field(period_label, kpi):
    common = {
        "string": f"{kpi.label} ({period_label})",
        "compute": "_compute_kpis",
        "help": kpi.help,
    }
    if kpi.kind == "integer":
        return fields.Integer(**common)
    # Floats without digits: the exact ratio or mean (the views round them).
    return fields.Float(**common)


def _add_kpi_fields(cls):
    """Declare on ``cls`` the field of each KPI and period, as Odoo declares its own
    magic fields (its definition collects them when the registry is built)."""
    for period, (period_label, _preset) in KPI_PERIODS.items():
        for name, kpi in KPIS.items():
            field = _kpi_field(period_label, kpi)
            setattr(cls, f"kpi_{period}_{name}", field)
            field.__set_name__(cls, f"kpi_{period}_{name}")
    return cls


@_add_kpi_fields
class AxivoxQueue(models.Model):
    # One file a concern on purpose (here the queue KPIs), as OCA connector keeps a
    # backend apart from its sync; the check is optional in the OCA template.
    _inherit = "axivox.queue"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _kpi_periods(self):
        """The KPI periods, ``{key: (start, end)}`` in naive UTC, ``end`` excluded (see
        KPI_PERIODS)."""
        presets = self.env["axivox.queue.report"]._preset_periods()
        return {key: presets[preset] for key, (_label, preset) in KPI_PERIODS.items()}

    @api.depends_context("tz", "uid")
    def _compute_kpis(self):
        """Every KPI field of every period: one SQL query for the whole recordset."""
        periods = self._kpi_periods()
        kpis = self._get_kpis(periods)
        for queue in self:
            for key in periods:
                values = kpis.get(queue.id, {}).get(key) or self._kpi_empty()
                for name, value in values.items():
                    queue[f"kpi_{key}_{name}"] = value

    @api.model
    def _kpi_empty(self):
        return {name: 0 if kpi.kind == "integer" else 0.0 for name, kpi in KPIS.items()}

    def _get_kpis(self, periods):
        """The KPIs of the queues for each period, in ONE query.

        ``periods`` is ``{key: (start, end)}``, naive UTC datetimes, ``end`` excluded.
        Returns ``{queue_id: {key: {kpi: value}}}`` (see KPIS), zeros where nothing
        happened. The events are read with SQL (agents cannot read the queue report),
        only for the queues of ``self`` that the user can read; the others get zeros.
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
        self._kpi_flush()
        self.env.cr.execute(*self._kpi_query(queues, periods))
        for row in self.env.cr.dictfetchall():
            result[row["queue_id"]][row["key"]] = {
                name: kpi.value(row) for name, kpi in KPIS.items()
            }
        return result

    @api.model
    def _kpi_flush(self):
        """Write to the database what the KPI query reads."""
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

    @api.model
    def _kpi_query(self, queues, periods):
        """(query, parameters) of the KPIs of ``queues`` over ``periods``."""
        now = fields.Datetime.now()
        params = {
            "queue_ids": queues.ids,
            "sl": [queue.service_level_seconds or 0 for queue in queues],
            "call_events": _CALL_EVENTS,
            # The span of all the periods, as constants: the planner reads the events
            # of that span through the index of their time, where bounds known only
            # from the periods' rows made it read every login event of the table
            # (200 ms instead of a few over 1,000,000 events).
            "first_start": min(start for start, _end in periods.values()),
            "last_end": max(end for _start, end in periods.values()),
        }
        period_values = []
        for index, (key, (start, end)) in enumerate(periods.items()):
            elapsed_end = max(start, min(end, now))
            params.update(
                {
                    f"key{index}": key,
                    f"start{index}": start,
                    f"end{index}": end,
                    f"start_ts{index}": pytz.utc.localize(start).timestamp(),
                    f"end_ts{index}": pytz.utc.localize(elapsed_end).timestamp(),
                }
            )
            period_values.append(
                f"(%(key{index})s, %(start{index})s::timestamp, "
                f"%(end{index})s::timestamp, %(start_ts{index})s::float8, "
                f"%(end_ts{index})s::float8)"
            )
        query = _KPI_QUERY.format(
            periods=", ".join(period_values),
            call_columns=", ".join(
                f"{KPIS[name].sql} AS {name}" for name in _CALL_KPIS
            ),
            result_columns=", ".join(f"c.{name}" for name in _CALL_KPIS),
        )
        return query, params
