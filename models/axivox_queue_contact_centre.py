"""The contact-centre figures of a queue (open callbacks), apart from the queue's own
file."""
from datetime import timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .axivox_event_intake import Reaction
from .bus_messages import (
    CALLBACKS,
    COMPANY_MANAGERS_SQL,
    WALLBOARD,
    managers_group_id,
    send_many,
)

# A queue call connected longer ago than this is not taken as going on (a lost end
# event).
BUSY_HOURS = 4


class AxivoxQueue(models.Model):
    _inherit = "axivox.queue"

    callback_open_count = fields.Integer(
        "Open Callbacks",
        compute="_compute_callbacks",
        help="Callers of this queue to call back (open or claimed callbacks).",
    )
    callback_oldest_time = fields.Datetime(
        "Oldest Open Callback",
        compute="_compute_callbacks",
        help="When the caller of the oldest open callback called.",
    )
    callback_oldest_age = fields.Integer(
        "Oldest Callback Age (min)",
        compute="_compute_callbacks",
        help="Minutes since the caller of the oldest open callback called.",
    )
    callback_oldest_wait = fields.Char(
        "Oldest Callback",
        compute="_compute_callbacks",
        help="How long ago the caller of the oldest open callback called, the way a "
        'clock reads it: "3 min", "2 h 05", "1 d 4 h".',
    )

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_callbacks(self):
        """One query for the whole recordset, with the user's rights on the
        callbacks."""
        Callback = self.env["axivox.callback"]
        groups = {}
        if self.ids and Callback.check_access_rights("read", raise_exception=False):
            groups = {
                queue.id: (count, oldest)
                for queue, count, oldest in Callback._read_group(
                    [
                        ("queue_id", "in", self.ids),
                        ("state", "in", ("open", "claimed")),
                    ],
                    ["queue_id"],
                    ["__count", "call_time:min"],
                )
            }
        now = fields.Datetime.now()
        for queue in self:
            count, oldest = groups.get(queue.id, (0, False))
            queue.callback_open_count = count
            queue.callback_oldest_time = oldest
            queue.callback_oldest_age = (
                int((now - oldest).total_seconds() // 60) if oldest else 0
            )
            queue.callback_oldest_wait = (
                queue._age_label(queue.callback_oldest_age) if oldest else False
            )

    @api.model
    def _age_label(self, minutes):
        """``minutes`` the way a manager reads an age: "3 min", "2 h 05", "1 d 4 h"
        (in the user's language)."""
        minutes = max(0, int(minutes))
        if minutes < 60:
            return _("%(minutes)s min", minutes=minutes)
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return _(
                "%(hours)s h %(minutes)s", hours=hours, minutes=str(minutes).zfill(2)
            )
        days, hours = divmod(hours, 24)
        return _("%(days)s d %(hours)s h", days=days, hours=hours)

    def action_open_callbacks(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_callback_action"
        )
        action["domain"] = [("queue_id", "in", self.ids)]
        return action

    # ------------------------------------------------------------------
    # The wallboard
    # ------------------------------------------------------------------
    @api.model
    def axivox_wallboard_data(self, queue_ids=None):
        """Everything the wallboard shows, for the queues the user may read (all of
        them, or those of ``queue_ids``): two queries whatever the number of queues.

        Per queue: callers waiting now and since when the longest has waited (epoch
        seconds, the browser ticks), agents connected / on a queue call / free, today's
        calls offered, answered, abandoned, service level and abandon rate, open
        callbacks."""
        domain = [("active", "=", True)]
        if queue_ids:
            if not isinstance(queue_ids, list) or not all(
                isinstance(i, int) for i in queue_ids
            ):
                raise UserError(_("The queues to show must be a list of queue ids."))
            domain.append(("id", "in", queue_ids))
        queues = self.search_fetch(
            domain, ["name", "service_level_seconds", "max_wait_time"]
        )
        now = fields.Datetime.now()
        result = {"server_time": pytz.utc.localize(now).timestamp(), "queues": []}
        if not queues:
            return result
        start, _end = self._kpi_periods()["today"]
        for model in ("axivox.queue.event", "axivox.queue.member", "axivox.callback"):
            self.env[model].flush_model()
        self.env["res.users"].flush_model(["axivox_extension"])
        self.env.cr.execute(
            """
            WITH q(id, sl, max_wait) AS (
                SELECT * FROM unnest(%(ids)s::int[], %(sl)s::int[], %(mw)s::int[])),
            today AS (
                SELECT e.queue_id,
                       COUNT(*) FILTER (WHERE e.event_type = 'ENTERQUEUE') AS offered,
                       COUNT(*) FILTER (WHERE e.event_type = 'CONNECT') AS answered,
                       COUNT(*) FILTER (WHERE e.event_type = 'ABANDON') AS abandoned,
                       COUNT(*) FILTER (WHERE e.event_type = 'CONNECT'
                                          AND COALESCE(e.wait_time, 0) <= q.sl) AS in_sl
                  FROM axivox_queue_event e JOIN q ON q.id = e.queue_id
                 WHERE e.event_time >= %(start)s
                   AND e.event_type IN ('ENTERQUEUE', 'CONNECT', 'ABANDON')
                 GROUP BY e.queue_id
            ),
            waiting AS (
                -- Entered the queue, not yet connected nor gone (a caller waits at
                -- most the queue's maximum waiting time).
                SELECT e.queue_id, COUNT(*) AS n, MIN(e.event_ts) AS since
                  FROM axivox_queue_event e JOIN q ON q.id = e.queue_id
                 WHERE e.event_type = 'ENTERQUEUE' AND e.call_id IS NOT NULL
                   AND e.event_time >= %(wait_floor)s
                   AND e.event_ts >= %(now_ts)s - q.max_wait - 60
                   AND NOT EXISTS (
                       SELECT 1 FROM axivox_queue_event x
                        WHERE x.call_id = e.call_id AND x.queue_id = e.queue_id
                          AND x.event_type IN ('CONNECT', 'ABANDON', 'EXITEMPTY',
                                               'EXITWITHTIMEOUT'))
                 GROUP BY e.queue_id
            ),
            busy AS (
                -- Agents on a queue call (any queue of the account): connected in the
                -- last hours and not yet ended or transferred.
                SELECT DISTINCT e.account_id, e.agent_extension
                  FROM axivox_queue_event e
                 WHERE e.event_type = 'CONNECT' AND e.event_time >= %(busy_floor)s
                   AND e.agent_extension IS NOT NULL
                   AND e.account_id IN (SELECT account_id FROM axivox_queue
                       WHERE id IN (SELECT id FROM q))
                   AND NOT EXISTS (
                       SELECT 1 FROM axivox_queue_event x
                        WHERE x.call_id = e.call_id AND x.account_id = e.account_id
                          AND x.event_type IN ('COMPLETEAGENT', 'COMPLETECALLER',
                                               'ATTENDEDTRANSFER', 'BLINDTRANSFER'))
            ),
            agents AS (
                SELECT m.queue_id, COUNT(*) AS connected,
                       COUNT(*) FILTER (WHERE b.agent_extension IS NOT NULL) AS on_call
                  FROM axivox_queue_member m
                  JOIN res_users u ON u.id = m.user_id
                  JOIN axivox_queue aq ON aq.id = m.queue_id
                  LEFT JOIN busy b ON b.account_id = aq.account_id
                                  AND b.agent_extension = u.axivox_extension
                 WHERE m.queue_id IN (SELECT id FROM q) AND m.connected
                 GROUP BY m.queue_id
            ),
            callbacks AS (
                SELECT c.queue_id, COUNT(*) AS n, MIN(c.call_time) AS oldest
                  FROM axivox_callback c
                 WHERE c.queue_id IN (SELECT id FROM q)
                   AND c.state IN ('open', 'claimed')
                 GROUP BY c.queue_id
            )
            SELECT q.id, COALESCE(w.n, 0), w.since, COALESCE(a.connected, 0),
                   COALESCE(a.on_call, 0), COALESCE(t.offered, 0),
                   COALESCE(t.answered, 0), COALESCE(t.abandoned, 0),
                   COALESCE(t.in_sl, 0), COALESCE(c.n, 0), c.oldest
              FROM q
              LEFT JOIN today t ON t.queue_id = q.id
              LEFT JOIN waiting w ON w.queue_id = q.id
              LEFT JOIN agents a ON a.queue_id = q.id
              LEFT JOIN callbacks c ON c.queue_id = q.id
        """,
            {
                "ids": queues.ids,
                "sl": [q.service_level_seconds or 0 for q in queues],
                "mw": [q.max_wait_time or 0 for q in queues],
                "start": start,
                "now_ts": result["server_time"],
                "wait_floor": now
                - timedelta(seconds=max(queues.mapped("max_wait_time")) + 60),
                "busy_floor": now - timedelta(hours=BUSY_HOURS),
            },
        )
        rows = {row[0]: row for row in self.env.cr.fetchall()}
        for queue in queues:
            (
                _id,
                waiting,
                since,
                connected,
                on_call,
                offered,
                answered,
                abandoned,
                in_sl,
                callbacks,
                oldest,
            ) = rows[queue.id]
            result["queues"].append(
                {
                    "id": queue.id,
                    "name": queue.name,
                    "waiting": waiting,
                    "longest_wait_since": since or False,
                    "agents_connected": connected,
                    "agents_on_call": on_call,
                    "agents_free": max(0, connected - on_call),
                    "offered": offered,
                    "answered": answered,
                    "abandoned": abandoned,
                    "service_level": in_sl / offered if offered else 0.0,
                    "abandon_rate": abandoned / offered if offered else 0.0,
                    "callbacks": callbacks,
                    "oldest_callback": fields.Datetime.to_string(oldest)
                    if oldest
                    else False,
                }
            )
        return result

    @api.model
    def _contact_centre_audience(self, queue_ids):
        """``{partner id: {queue id, ...}}``: who is told about these queues (their
        agents, and the managers of their company): one query."""
        if not queue_ids:
            return {}
        self.env.cr.execute(
            f"""
            SELECT u.partner_id, m.queue_id
              FROM axivox_queue_member m JOIN res_users u ON u.id = m.user_id
             WHERE m.queue_id = ANY(%(queues)s) AND u.active
            UNION
            SELECT mgr.partner_id, q.id
              FROM axivox_queue q,
                   LATERAL ({COMPANY_MANAGERS_SQL.format(company="q.company_id")}) mgr
             WHERE q.id = ANY(%(queues)s)
        """,
            {
                "queues": list(queue_ids),
                "managers": managers_group_id(self.env),
            },
        )
        audience = {}
        for partner_id, queue_id in self.env.cr.fetchall():
            audience.setdefault(partner_id, set()).add(queue_id)
        return audience

    @api.model
    def _react_contact_centre(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: tell the wallboards that the queues of
        ``new_events`` changed, and the softphones that the callbacks of the queues an
        earlier layer changed did."""
        queues = batch.queues
        prepared = batch.prepared
        return Reaction(
            notifications=tuple(
                self._contact_centre_messages(
                    {
                        queues[e["queue_id"]].id
                        for e in new_events
                        if queues.get(e["queue_id"])
                    },
                    earlier.callback_queue_ids,
                    prepared.audience if prepared else None,
                )
            )
        )

    @api.model
    def _notify_contact_centre(self, queue_ids, callback_queue_ids=()):
        """Tell the wallboards that ``queue_ids`` changed, and the softphones that the
        callbacks of ``callback_queue_ids`` did, now: one query and one bus insert."""
        messages = self._contact_centre_messages(queue_ids, callback_queue_ids)
        if messages:
            send_many(self.env, messages)

    @api.model
    def _contact_centre_messages(self, queue_ids, callback_queue_ids=(), read=None):
        """The bus messages that tell the wallboards that ``queue_ids`` changed, and
        the softphones that the callbacks of ``callback_queue_ids`` did: one query,
        none when ``read``, ``(queue ids, audience)`` read before, covers them."""
        queue_ids = set(queue_ids) | set(callback_queue_ids)
        callback_queue_ids = set(callback_queue_ids)
        if not queue_ids:
            return []
        self.env["axivox.queue.member"].flush_model(["queue_id", "user_id"])
        Partner = self.env["res.partner"]
        messages = []
        if read and queue_ids <= read[0]:
            audience = {
                partner_id: queues & queue_ids
                for partner_id, queues in read[1].items()
                if queues & queue_ids
            }
        else:
            audience = self._contact_centre_audience(queue_ids)
        for partner_id, queues in audience.items():
            partner = Partner.browse(partner_id)
            messages.append((partner, WALLBOARD, {"queue_ids": sorted(queues)}))
            if queues & callback_queue_ids:
                messages.append(
                    (
                        partner,
                        CALLBACKS,
                        {"queue_ids": sorted(queues & callback_queue_ids)},
                    )
                )
        return messages
