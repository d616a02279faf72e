"""axivox.queue.call: one line per queue call, a view over the queue events."""
from odoo import fields, models, tools

CALL_OUTCOMES = [
    ("waiting", "Waiting"),
    ("in_call", "In call"),
    ("answered", "Answered"),
    ("transferred", "Transferred"),
    ("abandoned", "Abandoned"),
    ("timeout", "Timed out"),
    ("no_agent", "No agent"),
]


class AxivoxQueueCall(models.Model):
    """One queue call (the events of one call ID in one queue), read from the queue
    events: a contact's call history, the caller card."""

    _name = "axivox.queue.call"
    _description = "Queue Call"
    _auto = False
    _order = "start_time desc, id desc"
    _rec_name = "call_id"

    account_id = fields.Many2one("axivox.account", string="PBX Account", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    queue_id = fields.Many2one("axivox.queue", readonly=True)
    call_id = fields.Char("Call ID", readonly=True)
    caller_number = fields.Char(readonly=True)
    caller_e164 = fields.Char("Caller Number (E.164)", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Contact", readonly=True)
    start_time = fields.Datetime("Time", readonly=True)
    end_time = fields.Datetime("Last Event", readonly=True)
    outcome = fields.Selection(CALL_OUTCOMES, readonly=True)
    agent_user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    wait_time = fields.Integer("Waiting Time (s)", readonly=True, group_operator="avg")
    talk_time = fields.Integer("Talk Time (s)", readonly=True, group_operator="avg")

    def init(self):
        # Grouped by columns that are constant within a call, so that a filter on the
        # contact (or the number) is applied to the events, through their indexes.
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            f"""
            CREATE VIEW {self._table} AS (
                SELECT MIN(e.id) AS id, e.account_id, e.company_id, e.queue_id,
                    e.call_id,
                       e.partner_id, e.caller_e164,
                           MAX(e.caller_number) AS caller_number,
                       MIN(e.event_time) AS start_time, MAX(e.event_time) AS end_time,
                       CASE
                           WHEN bool_or(e.event_type IN ('ATTENDEDTRANSFER',
                               'BLINDTRANSFER'))
                               THEN 'transferred'
                           WHEN bool_or(e.event_type IN ('COMPLETEAGENT',
                               'COMPLETECALLER'))
                               THEN 'answered'
                           WHEN bool_or(e.event_type = 'CONNECT') THEN 'in_call'
                           WHEN bool_or(e.event_type = 'EXITWITHTIMEOUT') THEN 'timeout'
                           WHEN bool_or(e.event_type = 'EXITEMPTY') THEN 'no_agent'
                           WHEN bool_or(e.event_type IN ('ABANDON', 'RINGCANCELED'))
                               THEN 'abandoned'
                           ELSE 'waiting'
                       END AS outcome,
                       (array_agg(e.agent_user_id ORDER BY e.event_ts DESC)
                           FILTER (WHERE e.event_type = 'CONNECT'))[1] AS agent_user_id,
                       MAX(e.wait_time) AS wait_time,
                       MAX(e.talk_time) AS talk_time
                  FROM axivox_queue_event e
                 WHERE e.call_id IS NOT NULL
                   AND e.event_type NOT IN ('ADDMEMBER', 'REMOVEMEMBER')
                 GROUP BY e.account_id, e.company_id, e.queue_id, e.call_id,
                     e.partner_id,
                          e.caller_e164
            )
        """
        )
