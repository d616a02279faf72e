"""The contact-centre part of axivox.queue.event: the caller's number and contact on
each event, and the caller card of the agent a caller is connected to.

axivox.event.intake calls ``_match_callers`` and ``_read_before_lock`` before the
account's lock and ``_react_caller_cards`` among the layers that react to new events.
"""
import collections
import time

from odoo import api, fields, models
from odoo.tools.sql import create_index

from .axivox_agent_session import SESSION_SOURCES
from .axivox_event_intake import Reaction
from .axivox_queue_event import event_moment
from .bus_messages import CALLER_CARD
from .res_partner import e164

# Events that end an agent's queue call (the card goes away).
CALL_END_EVENTS = (
    "COMPLETEAGENT",
    "COMPLETECALLER",
    "ATTENDEDTRANSFER",
    "BLINDTRANSFER",
)
# A CONNECT older than this (a late delivery, the sync of the past) shows no card.
CARD_MAX_AGE = 3600
CARD_HISTORY = 5

# The SQL that picks the contact of an E.164 number ``num`` for an event of company
# ``cid``: an active contact of that company or of none, with that phone or mobile, the
# oldest first.
PARTNER_FOR_NUMBER = """
    SELECT p.id FROM res_partner p
     WHERE (p.axivox_phone_e164 = {num} OR p.axivox_mobile_e164 = {num})
       AND p.active AND (p.company_id IS NULL OR p.company_id = {cid})
     ORDER BY p.id LIMIT 1
"""

# What the contact-centre layer reads for a batch before the account's lock:
# ``audience`` is ``(queue ids, {partner id: {queue id, ...}})``, who is told about the
# batch's queues; ``histories`` is ``(E.164 numbers, {number: [call, ...]})``, the last
# calls of its connected callers.
ContactCentreRead = collections.namedtuple(
    "ContactCentreRead", ["audience", "histories"]
)


class AxivoxQueueEvent(models.Model):
    _inherit = "axivox.queue.event"

    # Indexed with the event type and time (axivox_queue_event_caller_idx, see init).
    caller_e164 = fields.Char(
        "Caller Number (E.164)",
        readonly=True,
        help="The caller's number in E.164 (national numbers read in the company's "
        "country).",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Contact",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        help="The contact whose phone or mobile is the caller's number.",
    )
    login_source = fields.Selection(
        SESSION_SOURCES,
        string="Login Made With",
        readonly=True,
        help="For an agent's login or logout: how it was made.",
    )

    def init(self):
        res = super().init()
        # A caller's events, and the last time she was connected to an agent (one index
        # probe a number when callbacks are opened), whatever the table's statistics.
        create_index(
            self.env.cr,
            "axivox_queue_event_caller_idx",
            self._table,
            ["caller_e164", "event_type", "event_ts"],
            where="caller_e164 IS NOT NULL",
        )
        return res

    @api.model
    def _match_callers(self, batch, company_id, country):
        """``{raw caller number: (e164, contact id or None)}`` for the events of a batch
        of company ``company_id`` (national numbers read in ``country``), in ONE query;
        axivox.event.intake stores both with the events."""
        mapping = {}
        for event in batch:
            raw = event.get("caller_number")
            if raw and raw not in mapping:
                mapping[raw] = e164(raw, country)
        mapping = {raw: num for raw, num in mapping.items() if num}
        if not mapping:
            return {}
        self.env["res.partner"].flush_model(
            ["axivox_phone_e164", "axivox_mobile_e164", "active", "company_id"]
        )
        self.env.cr.execute(
            f"""
            SELECT n.num, ({PARTNER_FOR_NUMBER.format(num="n.num", cid="%s")})
              FROM unnest(%s::varchar[]) n(num)
        """,
            [company_id, list(set(mapping.values()))],
        )
        partners = dict(self.env.cr.fetchall())
        return {raw: (num, partners.get(num)) for raw, num in mapping.items()}

    @api.model
    def _read_before_lock(self, account, events, queues, users, numbers):
        """What the contact-centre layer reads for a batch before the account's lock
        (nothing there changes it): a ``ContactCentreRead``."""
        queue_ids = {queue.id for queue in queues.values()}
        _recent, connects = self._card_events(events, users)
        nums = {
            numbers[e["caller_number"]][0]
            for e in connects
            if e.get("caller_number") in numbers
        }
        return ContactCentreRead(
            audience=(
                queue_ids,
                self.env["axivox.queue"]._contact_centre_audience(queue_ids),
            ),
            histories=(nums, self._caller_histories(account, nums)),
        )

    @api.model
    def _caller_country(self, account):
        return account.company_id.country_id or self.env.company.country_id

    @api.model
    def _normalize_number(self, account, number):
        """A caller number of ``account`` in E.164 (False when there is none)."""
        return e164(number, self._caller_country(account))

    @api.model
    def _backfill_callers(self):
        """The E.164 number and the contact of the events stored before the
        contact-centre layer (an upgrade): one UPDATE per PBX account."""
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            """SELECT DISTINCT account_id, caller_number FROM axivox_queue_event
                       WHERE caller_number IS NOT NULL AND caller_e164 IS NULL"""
        )
        by_account = {}
        for account_id, raw in cr.fetchall():
            by_account.setdefault(account_id, []).append(raw)
        numbers = set()
        for account_id, raws in by_account.items():
            account = self.env["axivox.account"].browse(account_id)
            pairs = [(raw, self._normalize_number(account, raw)) for raw in raws]
            pairs = [(raw, num) for raw, num in pairs if num]
            numbers.update(num for _raw, num in pairs)
            cr.execute(
                """
                UPDATE axivox_queue_event e SET caller_e164 = v.num
                  FROM unnest(%s::varchar[], %s::varchar[]) v(raw, num)
                 WHERE e.account_id = %s AND e.caller_number = v.raw
                     AND e.caller_e164 IS NULL
            """,
                [[p[0] for p in pairs], [p[1] for p in pairs], account_id],
            )
        self.invalidate_model(["caller_e164"])
        if numbers:
            self._relink_partners(list(numbers))

    @api.model
    def _relink_partners(self, numbers):
        """The contacts of these E.164 numbers changed: link every stored event (and
        callback) of these numbers to the contact that has the number now."""
        self.env["res.partner"].flush_model(
            ["axivox_phone_e164", "axivox_mobile_e164", "active", "company_id"]
        )
        self.flush_model(["partner_id", "caller_e164"])
        for table, column in self._partner_linked_tables():
            self.env.cr.execute(
                f"""
                UPDATE {table} t SET partner_id = x.pid
                  FROM (SELECT r.id, ({PARTNER_FOR_NUMBER.format(
                            num=f"r.{column}", cid="r.company_id")}) AS pid
                          FROM {table} r WHERE r.{column} = ANY(%s)) x
                 WHERE t.id = x.id AND t.partner_id IS DISTINCT FROM x.pid
            """,
                [list(numbers)],
            )
        self.invalidate_model(["partner_id"])
        self.env["axivox.callback"].invalidate_model(["partner_id"])

    @api.model
    def _partner_linked_tables(self):
        """(table, E.164 number column) of the records linked to a contact by number."""
        self.env["axivox.callback"].flush_model(["partner_id", "number"])
        return [("axivox_queue_event", "caller_e164"), ("axivox_callback", "number")]

    # ------------------------------------------------------------------
    # The caller card of the softphone
    # ------------------------------------------------------------------
    @api.model
    def _react_caller_cards(self, new_events, batch, earlier):
        """A layer of axivox.event.intake: the caller cards of ``new_events``."""
        prepared = batch.prepared
        return Reaction(
            notifications=tuple(
                self._caller_card_messages(
                    batch.account,
                    new_events,
                    batch.queues,
                    batch.users,
                    batch.numbers,
                    prepared.histories if prepared else None,
                )
            )
        )

    @api.model
    def _caller_card_messages(
        self, account, new_events, queues, users, numbers, read=None
    ):
        """The bus messages that give her caller card to the agent a queue caller just
        connected to (CONNECT), and tell her when that call ended: one message per
        agent, and one history query for the whole batch (none when ``read``,
        ``(numbers, histories)`` read before, covers its numbers). Payload: ``{"cards":
        [card, ...], "ended": [call id, ...]}``."""
        recent, connects = self._card_events(new_events, users)
        if not recent:
            return []
        histories = {}
        if connects:
            nums = {
                numbers.get(e.get("caller_number"), (False, None))[0] for e in connects
            }
            nums -= {False}
            if read and nums <= read[0]:
                histories = read[1]
            else:
                histories = self._caller_histories(account, nums)
        partners = (
            self.env["res.partner"]
            .sudo()
            .browse(
                {
                    numbers[e["caller_number"]][1]
                    for e in connects
                    if numbers.get(e.get("caller_number"), (False, None))[1]
                }
            )
        )
        by_agent = {}
        for event in recent:
            user = users[event["agent_extension"]]
            message = by_agent.setdefault(user, {"cards": [], "ended": []})
            if event["type"] in CALL_END_EVENTS:
                message["ended"].append(event.get("call_id"))
            elif event in connects:
                num, pid = numbers.get(event.get("caller_number"), (False, None))
                queue = queues.get(event["queue_id"])
                partner, history = self._card_for_agent(
                    account,
                    user,
                    num,
                    partners.browse(pid) if pid else None,
                    histories.get(num, []),
                )
                message["cards"].append(
                    self._card_payload(
                        event.get("caller_number") or "",
                        partner,
                        queue.name if queue else "",
                        [h for h in history if h["call_id"] != event.get("call_id")],
                        call_id=event.get("call_id"),
                    )
                )
        return [
            (user.partner_id, CALLER_CARD, message)
            for user, message in by_agent.items()
        ]

    @api.model
    def _card_for_agent(self, account, user, num, partner, history):
        """``(partner, history)`` of a card sent to ``user``: what she may read of them
        (her record rules), as the card of a number she calls shows it. ``history``
        holds the last calls of the number in the account; when some are not hers to
        read, her own last calls of the number are read instead."""
        as_user = self.with_user(user).with_context(
            allowed_company_ids=user.company_ids.ids
        )
        if partner:
            partner = (
                partner.with_env(as_user.env)._filter_access_rules("read").sudo()
                or None
            )
        Call = as_user.env["axivox.queue.call"]
        if not num or not Call.check_access_rights("read", raise_exception=False):
            return partner, []
        ids = [h["id"] for h in history]
        if ids and len(Call.search([("id", "in", ids)])) == len(ids):
            return partner, history
        readable = Call.search(
            [("account_id", "=", account.id), ("caller_e164", "=", num)],
            order="start_time desc, id desc",
            limit=CARD_HISTORY + 1,
        )
        if not readable:
            return partner, []
        return partner, self._caller_histories(
            account, {num}, call_ids=readable.ids
        ).get(num, [])

    @api.model
    def _card_events(self, events, users):
        """``(recent, connects)``: the events of ``events`` that make or end a caller
        card (of a mapped agent, not older than CARD_MAX_AGE), and among them the
        CONNECTs of calls that did not end in the same events."""
        now = time.time()
        recent = [
            e
            for e in events
            if users.get(e.get("agent_extension"))
            and (e["type"] == "CONNECT" or e["type"] in CALL_END_EVENTS)
            and now - event_moment(e["timestamp"]).timestamp() < CARD_MAX_AGE
        ]
        ended = {e.get("call_id") for e in recent if e["type"] in CALL_END_EVENTS}
        connects = [
            e
            for e in recent
            if e["type"] == "CONNECT" and e.get("call_id") not in ended
        ]
        return recent, connects

    @api.model
    def _caller_histories(self, account, nums, call_ids=None):
        """``{e164: [call, ...]}``: the last queue calls of each number, newest
        first (only the calls ``call_ids`` when given)."""
        if not nums:
            return {}
        self.flush_model()
        outcomes = dict(
            self.env["axivox.queue.call"]
            ._fields["outcome"]
            ._description_selection(self.env)
        )
        self.env.cr.execute(
            """
            SELECT x.id, x.caller_e164, x.call_id, x.start_time, x.outcome, q.name,
                u.id,
                   p.name, x.wait_time, x.talk_time
              FROM (SELECT c.*, row_number() OVER (
                               PARTITION BY c.caller_e164
                               ORDER BY c.start_time DESC) AS rn
                      FROM axivox_queue_call c
                     WHERE c.account_id = %s AND c.caller_e164 = ANY(%s)
                       AND (%s OR c.id = ANY(%s))) x
              LEFT JOIN axivox_queue q ON q.id = x.queue_id
              LEFT JOIN res_users u ON u.id = x.agent_user_id
              LEFT JOIN res_partner p ON p.id = u.partner_id
             WHERE x.rn <= %s
             ORDER BY x.caller_e164, x.start_time DESC
        """,
            [
                account.id,
                list(nums),
                call_ids is None,
                list(call_ids or ()),
                CARD_HISTORY + 1,
            ],
        )
        result = {}
        for (
            cid,
            num,
            call_id,
            start,
            outcome,
            queue_name,
            _uid,
            agent_name,
            wait,
            talk,
        ) in self.env.cr.fetchall():
            result.setdefault(num, []).append(
                {
                    "id": cid,
                    "call_id": call_id,
                    "start_time": fields.Datetime.to_string(start),
                    "outcome": outcome,
                    "outcome_label": outcomes.get(outcome, outcome),
                    "queue_name": queue_name or "",
                    "agent_name": agent_name or "",
                    "wait_time": wait or 0,
                    "talk_time": talk or 0,
                }
            )
        return result

    @api.model
    def _card_payload(self, number, partner, queue_name, history, call_id=False):
        company = partner and (partner.parent_id or partner.commercial_partner_id)
        if company == partner:
            company = None
        return {
            "call_id": call_id or False,
            "number": number,
            "queue_name": queue_name or "",
            "partner": partner
            and {
                "id": partner.id,
                "name": partner.name or partner.display_name,
                "company_id": company.id if company else False,
                "company_name": company.name
                if company
                else (partner.company_name or False),
            }
            or False,
            "history": history[:CARD_HISTORY],
        }
