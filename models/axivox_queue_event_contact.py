"""The contact-centre layer of the queue events: what ingestion does after storing them.

Kept apart from ``axivox_queue_event.py``: ``_ingest`` calls ``_after_ingest`` once, with the
events it stored for the first time, and everything of the contact-centre layer (caller to
contact, callbacks, agent sessions, live notifications) hangs from there.
"""
from odoo import api, fields, models

from .res_partner import e164

# The SQL that picks the contact of an E.164 number ``num`` for an event of company ``cid``:
# an active contact of that company or of none, with that phone or mobile, the oldest first.
PARTNER_FOR_NUMBER = """
    SELECT p.id FROM res_partner p
     WHERE (p.axivox_phone_e164 = {num} OR p.axivox_mobile_e164 = {num})
       AND p.active AND (p.company_id IS NULL OR p.company_id = {cid})
     ORDER BY p.id LIMIT 1
"""


class AxivoxQueueEvent(models.Model):
    _inherit = "axivox.queue.event"

    caller_e164 = fields.Char(
        "Caller Number (E.164)", index="btree_not_null", readonly=True,
        help="The caller's number in E.164 (national numbers read in the company's country).")
    partner_id = fields.Many2one(
        "res.partner", string="Contact", index="btree_not_null", ondelete="set null",
        readonly=True, help="The contact whose phone or mobile is the caller's number.")

    @api.model
    def _after_ingest(self, account, new_events, queues, users):
        """Everything the contact-centre layer does with newly stored events (``new_events``
        as validated, never applied before), in a few queries whatever their number."""
        if not new_events:
            return
        numbers = self._link_partners(account, new_events)
        self.env["axivox.callback"]._update_from_events(account, new_events, queues, numbers)

    @api.model
    def _caller_country(self, account):
        return account.company_id.country_id or self.env.company.country_id

    @api.model
    def _normalize_number(self, account, number):
        """A caller number of ``account`` in E.164 (False when there is none)."""
        return e164(number, self._caller_country(account))

    @api.model
    def _link_partners(self, account, new_events):
        """Store the E.164 caller number and the matching contact on the new events: one
        query for the whole batch. Returns ``{raw number: (e164, partner id or None)}``."""
        country = self._caller_country(account)
        raws = {e["caller_number"] for e in new_events if e.get("caller_number")}
        mapping = {raw: e164(raw, country) for raw in raws}
        mapping = {raw: num for raw, num in mapping.items() if num}
        if not mapping:
            return {}
        ids = [e["id"] for e in new_events if e.get("caller_number") in mapping]
        self.env["res.partner"].flush_model(
            ["axivox_phone_e164", "axivox_mobile_e164", "active", "company_id"])
        raw_list = list(mapping)
        self.env.cr.execute(f"""
            WITH v(raw, num) AS (SELECT * FROM unnest(%s::varchar[], %s::varchar[])),
            m AS (SELECT n.num, ({PARTNER_FOR_NUMBER.format(num="n.num", cid="%s")}) AS pid
                    FROM (SELECT DISTINCT num FROM v) n),
            u AS (
                UPDATE axivox_queue_event e SET caller_e164 = v.num, partner_id = m.pid
                  FROM v JOIN m ON m.num = v.num
                 WHERE e.account_id = %s AND e.pbx_event_id = ANY(%s) AND e.caller_number = v.raw
                RETURNING 1)
            SELECT v.raw, v.num, m.pid FROM v JOIN m ON m.num = v.num
        """, [raw_list, [mapping[r] for r in raw_list], account.company_id.id, account.id, ids])
        result = {raw: (num, pid) for raw, num, pid in self.env.cr.fetchall()}
        self.invalidate_model(["caller_e164", "partner_id"])
        return result

    @api.model
    def _relink_partners(self, numbers):
        """The contacts of these E.164 numbers changed: link every stored event (and
        callback) of these numbers to the contact that has the number now."""
        self.env["res.partner"].flush_model(
            ["axivox_phone_e164", "axivox_mobile_e164", "active", "company_id"])
        self.flush_model(["partner_id", "caller_e164"])
        for table, column in self._partner_linked_tables():
            self.env.cr.execute(f"""
                UPDATE {table} t SET partner_id = x.pid
                  FROM (SELECT r.id, ({PARTNER_FOR_NUMBER.format(
                            num=f"r.{column}", cid="r.company_id")}) AS pid
                          FROM {table} r WHERE r.{column} = ANY(%s)) x
                 WHERE t.id = x.id AND t.partner_id IS DISTINCT FROM x.pid
            """, [list(numbers)])
        self.invalidate_model(["partner_id"])
        self.env["axivox.callback"].invalidate_model(["partner_id"])

    @api.model
    def _partner_linked_tables(self):
        """(table, E.164 number column) of the records linked to a contact by number."""
        self.env["axivox.callback"].flush_model(["partner_id", "number"])
        return [("axivox_queue_event", "caller_e164"), ("axivox_callback", "number")]
