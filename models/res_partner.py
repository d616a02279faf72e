"""Contacts matched to queue callers: phone numbers in E.164, and their queue calls."""
import functools
import re

from odoo import _, api, fields, models

from odoo.addons.phone_validation.tools import phone_validation

# Countries whose national numbers keep their leading 0 in E.164 (+39 02 ...).
_KEEP_TRUNK_ZERO = {"IT", "SM", "VA"}


def e164(number, country):
    """``number`` in E.164 (``+3225550100``), national numbers read in ``country``.

    Odoo's ``phone_validation`` does it (with the ``phonenumbers`` library); when the
    library is missing or cannot read the number, a plain rule: ``00`` and ``+`` are
    international, a leading 0 is the national trunk prefix. Short numbers (internal
    extensions) and text without digits are returned as their digits, or False."""
    if not number or not isinstance(number, str):
        return False
    if country:
        return _e164(number.strip(), country.code or None, country.phone_code or None)
    return _e164(number.strip(), None, None)


# The same callers call again and again: each number is read once per process (the
# library takes about a tenth of a millisecond a number).
@functools.lru_cache(maxsize=65536)
def _e164(raw, code, phone_code):
    if code:
        formatted = phone_validation.phone_format(
            raw,
            code,
            phone_code,
            force_format="E164",
            raise_exception=False,
        )
        if formatted and re.fullmatch(r"\+[1-9][0-9]{5,16}", formatted):
            return formatted
    digits = re.sub(r"[^0-9]", "", raw)
    if not digits:
        return False
    if raw.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) <= 6 or not phone_code:
        return digits
    if digits.startswith("0") and code not in _KEEP_TRUNK_ZERO:
        digits = digits[1:]
    return f"+{phone_code}{digits}"


def _e164_field(string, **kwargs):
    """One of the contact's numbers in E.164 (``_compute_axivox_e164``), stored and
    indexed to find the contact of a queue caller."""
    return fields.Char(
        string,
        compute="_compute_axivox_e164",
        store=True,
        index="btree_not_null",
        **kwargs,
    )


class ResPartner(models.Model):
    _inherit = "res.partner"

    axivox_phone_e164 = _e164_field(
        "Phone (E.164)",
        help="The phone number in E.164, to match queue callers with this contact.",
    )
    axivox_mobile_e164 = _e164_field(
        "Mobile (E.164)",
        help="The mobile number in E.164, to match queue callers with this contact.",
    )
    axivox_queue_call_count = fields.Integer(
        "Queue Calls",
        compute="_compute_axivox_queue_call_count",
        help="Calls of this contact to the call queues you can see.",
    )

    @api.depends("phone", "mobile", "country_id", "company_id")
    def _compute_axivox_e164(self):
        for partner in self:
            country = partner._axivox_country()
            partner.axivox_phone_e164 = e164(partner.phone, country)
            partner.axivox_mobile_e164 = e164(partner.mobile, country)

    def _axivox_country(self):
        return (
            self.country_id or self.company_id.country_id or self.env.company.country_id
        )

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_axivox_queue_call_count(self):
        Call = self.env["axivox.queue.call"]
        counts = {}
        if self.ids and Call.check_access_rights("read", raise_exception=False):
            counts = dict(
                Call._read_group(
                    [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
                )
            )
            counts = {partner.id: n for partner, n in counts.items()}
        for partner in self:
            partner.axivox_queue_call_count = counts.get(partner.id, 0)

    def action_open_axivox_queue_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "voip_axivox_queue.axivox_queue_call_action"
        )
        action["name"] = _("Queue Calls of %s", self.display_name)
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {}
        return action

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        partners._axivox_relink(set())
        return partners

    def write(self, vals):
        if not {"phone", "mobile", "country_id", "company_id", "active"} & set(vals):
            return super().write(vals)
        self.flush_recordset(["axivox_phone_e164", "axivox_mobile_e164"])
        before = set(self.mapped("axivox_phone_e164")) | set(
            self.mapped("axivox_mobile_e164")
        )
        result = super().write(vals)
        self._axivox_relink(before)
        return result

    def _axivox_relink(self, old_numbers):
        """Link the stored queue calls (and callbacks) of these contacts' numbers, old
        and new, to the contact that has them now."""
        self.flush_recordset(
            ["axivox_phone_e164", "axivox_mobile_e164", "active", "company_id"]
        )
        numbers = (
            old_numbers
            | set(self.mapped("axivox_phone_e164"))
            | set(self.mapped("axivox_mobile_e164"))
        ) - {False, None}
        if numbers:
            self.env["axivox.queue.event"]._relink_partners(list(numbers))
