"""The ingestion side of the callbacks: opening, updating and closing them from the
queue events of a batch, in a handful of queries (a layer of axivox.event.intake). The
model, and what agents do with it, are in ``axivox_callback.py``."""
from odoo import api, models

from ..axivox_api.events import odoo_datetime
from .axivox_callback import UNANSWERED
from .axivox_event_intake import Reaction
from .axivox_queue_event import event_moment


class AxivoxCallback(models.Model):
    _inherit = "axivox.callback"

    @api.model
    def _react_callbacks(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: the callbacks of the callers of
        ``new_events``; says which queues' callbacks changed."""
        queue_ids = self._update_from_events(
            batch.account,
            new_events,
            batch.queues,
            batch.numbers,
            batch.company_id,
            batch.users,
        )
        return Reaction(callback_queue_ids=frozenset(queue_ids))

    @api.model
    def _update_from_events(
        self, account, new_events, queues, numbers, company_id, users=None
    ):
        """Open, update and close the callbacks of the callers of ``new_events``.

        ``numbers`` maps each raw caller number to ``(e164, partner id)``;
        ``company_id`` is the account's company; ``users`` the agents of the events by
        extension, when the caller read them already. Order-safe: a caller is reached by
        a CONNECT (in any queue of the account) or a call placed to her that was
        answered; an unanswered call older than that never reopens her callback. A
        handful of queries whatever the number of events."""
        relevant = [
            e
            for e in new_events
            if e.get("caller_number") in numbers
            and (e["type"] in UNANSWERED or e["type"] == "CONNECT")
        ]
        if not relevant:
            return set()
        by_number = {}
        for event in relevant:
            num = numbers[event["caller_number"]][0]
            by_number.setdefault(num, []).append(
                (event_moment(event["timestamp"]), event)
            )
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            """
            SELECT n.num,
                   (SELECT MAX(e.event_ts) FROM axivox_queue_event e
                     WHERE e.caller_e164 = n.num AND e.account_id = %(account)s
                       AND e.event_type = 'CONNECT'),
                   (SELECT MAX(c.reached_ts) FROM axivox_callback c
                     WHERE c.number = n.num AND c.account_id = %(account)s
                       AND c.state = 'done'),
                   (SELECT ARRAY[c.id::float8, c.call_ts] FROM axivox_callback c
                     WHERE c.number = n.num AND c.account_id = %(account)s
                       AND c.state IN ('open', 'claimed'))
              FROM unnest(%(numbers)s::varchar[]) n(num)
        """,
            {"account": account.id, "numbers": list(by_number)},
        )
        known = {
            num: (max(connect or 0, called or 0), current)
            for num, connect, called, current in cr.fetchall()
        }
        closes, upserts = [], []
        for num, items in by_number.items():
            reached, current = known.get(num, (0, None))
            connects = [(m, e) for m, e in items if e["type"] == "CONNECT"]
            misses = [
                (m, e)
                for m, e in items
                if e["type"] in UNANSWERED and m.timestamp() > reached
            ]
            if current and reached > current[1]:
                last_connect = max(connects, key=lambda x: x[0]) if connects else None
                closes.append((int(current[0]), reached, last_connect))
            if misses:
                upserts.append((num, misses))
        changed_queues = set()
        if closes:
            extensions = {
                c[1].get("agent_extension")
                for _i, _r, c in closes
                if c and c[1].get("agent_extension")
            }
            agents = dict(users or {})
            if extensions - set(agents):
                agents.update(account._users_by_extension(extensions - set(agents)))
            values = []
            for callback_id, reached, connect in closes:
                moment, event = connect if connect else (None, {})
                agent = agents.get(event.get("agent_extension"))
                values.append(
                    (
                        callback_id,
                        reached,
                        odoo_datetime(moment),
                        agent.id if agent else None,
                    )
                )
            result = cr.execute_values(
                """
                UPDATE axivox_callback c
                   SET state = 'done', result = 'reached', reached_ts = v.reached,
                       closed_at = COALESCE(v.closed_at, now() AT TIME ZONE 'UTC'),
                       closed_by_id = v.closed_by, write_date = now() AT TIME ZONE 'UTC'
                  FROM (VALUES %s) v(id, reached, closed_at, closed_by)
                 WHERE c.id = v.id AND c.state IN ('open', 'claimed')
             RETURNING c.queue_id
            """,
                values,
                template="(%s::int, %s::float8, %s::timestamp, %s::int)",
                page_size=len(values),
                fetch=True,
            )
            changed_queues.update(row[0] for row in result)
        if upserts:
            rows = []
            for num, misses in upserts:
                moment, last = max(misses, key=lambda x: x[0])
                first = min(m for m, _e in misses)
                queue = queues.get(last["queue_id"])
                partner_id = numbers[last["caller_number"]][1]
                rows.append(
                    (
                        account.id,
                        company_id,
                        queue.id if queue else None,
                        num,
                        last["caller_number"],
                        partner_id,
                        "open",
                        odoo_datetime(moment),
                        moment.timestamp(),
                        odoo_datetime(first),
                        last.get("wait_time") or 0,
                        len({e.get("call_id") or e["id"] for _m, e in misses}),
                        last.get("call_id"),
                        last["type"],
                    )
                )
            # No create_uid / write_uid: the PBX's events open callbacks, as they
            # make the events (and each would be one more foreign-key check a row).
            result = cr.execute_values(
                """
                INSERT INTO axivox_callback AS c (
                    account_id, company_id, queue_id, number, caller_number,
                        partner_id, state,
                    call_time, call_ts, first_call_time, wait_time, attempts,
                        last_call_id,
                    last_event_type, create_date, write_date)
                SELECT v.*, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                  FROM (VALUES %s) v
                ON CONFLICT (account_id, number) WHERE state IN ('open', 'claimed')
                DO UPDATE SET
                    attempts = c.attempts + EXCLUDED.attempts
                        - (CASE WHEN EXCLUDED.last_call_id
                            = c.last_call_id THEN 1 ELSE 0 END),
                    queue_id = CASE WHEN EXCLUDED.call_ts > c.call_ts
                                    THEN EXCLUDED.queue_id ELSE c.queue_id END,
                    caller_number = CASE WHEN EXCLUDED.call_ts > c.call_ts
                                    THEN EXCLUDED.caller_number
                                    ELSE c.caller_number END,
                    wait_time = CASE WHEN EXCLUDED.call_ts > c.call_ts
                                    THEN EXCLUDED.wait_time ELSE c.wait_time END,
                    last_call_id = CASE WHEN EXCLUDED.call_ts > c.call_ts
                                    THEN EXCLUDED.last_call_id ELSE c.last_call_id END,
                    last_event_type = CASE WHEN EXCLUDED.call_ts > c.call_ts
                                    THEN EXCLUDED.last_event_type
                                    ELSE c.last_event_type END,
                    call_time = GREATEST(c.call_time, EXCLUDED.call_time),
                    call_ts = GREATEST(c.call_ts, EXCLUDED.call_ts),
                    first_call_time = LEAST(c.first_call_time,
                        EXCLUDED.first_call_time),
                    partner_id = EXCLUDED.partner_id,
                    write_date = EXCLUDED.write_date
                RETURNING queue_id
            """,
                rows,
                template="(%s::int, %s::int, %s::int, %s, %s, %s::int, %s, "
                "%s::timestamp, %s::float8, %s::timestamp, %s::int, %s::int, %s, %s)",
                page_size=len(rows),
                fetch=True,
            )
            changed_queues.update(row[0] for row in result)
        self.invalidate_model()
        self.env["axivox.queue"].invalidate_model(
            ["callback_open_count", "callback_oldest_time"]
        )
        return {q for q in changed_queues if q}
