"""The contact-centre sections of the softphone (``axivox.softphone``): the agent's
callbacks, calling one back, the caller card of a number she calls, and the callback of
a number closed when her call to it is answered."""
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .axivox_queue_event_contact_centre import CARD_HISTORY, PARTNER_FOR_NUMBER


class AxivoxSoftphone(models.AbstractModel):
    _inherit = "axivox.softphone"

    @api.model
    def dial(self, number):
        """A call placed from the softphone that was answered closes the callback of the
        number called."""
        info = super().dial(number)
        self.env["axivox.callback"]._note_placed_call(info, number)
        return info

    @api.model
    def get_callbacks(self, limit=50):
        """The open callbacks of the current user's queues, for the softphone."""
        Callback = self.env["axivox.callback"]
        domain = [
            ("state", "in", ("open", "claimed")),
            ("queue_id.member_ids.user_id", "=", self.env.uid),
        ]
        callbacks = Callback.search(
            domain, limit=limit, order="call_time desc, id desc"
        )
        return {
            "count": Callback.search_count(domain),
            "callbacks": [
                {
                    "id": c.id,
                    "number": c.number,
                    "partner_id": c.partner_id.id,
                    "partner_name": c.partner_id.display_name or False,
                    "queue_id": c.queue_id.id,
                    "queue_name": c.queue_id.name,
                    "call_time": fields.Datetime.to_string(c.call_time),
                    "wait_time": c.wait_time,
                    "attempts": c.attempts,
                    "state": c.state,
                    "claimed_by_id": c.claimed_by_id.id,
                    "claimed_by_name": c.claimed_by_id.name or False,
                }
                for c in callbacks
            ],
        }

    @api.model
    def call_back(self, callback_id):
        """Claim callback ``callback_id`` and call the caller from the agent's
        extension (the callback's own *Call back*)."""
        return self.env["axivox.callback"].browse(callback_id).action_call_back()

    @api.model
    def claim_callback(self, callback_id):
        """Claim callback ``callback_id`` for the phone in her browser, which calls the
        caller itself: the number to call."""
        callback = self.env["axivox.callback"]
        if isinstance(callback_id, int) and not isinstance(callback_id, bool):
            callback = callback.browse(callback_id).exists()
        if not callback:
            raise UserError(_("This callback no longer exists."))
        callback.action_claim()
        return {"callback_id": callback.id, "number": callback.sudo().number}

    @api.model
    def sip_call_answered(self, number):
        """A call the phone in her browser placed to ``number`` was answered: the open
        callback of that number is closed, by her, now (as for a call the PBX API
        places)."""
        if not isinstance(number, str) or not number.strip():
            raise UserError(_("Type a number to call."))
        self._account_for_dial()  # a clear error when there is no extension
        self._check_rate("dial")
        self.env["axivox.callback"]._note_placed_call(
            {"state": "answered"}, number.strip()
        )
        return True

    @api.model
    def caller_card(self, number):
        """The caller card of ``number`` for the current user (a call she places): the
        contact she may read, and her last calls among those she may read (the queue
        calls' record rules); as many a minute as she may dial."""
        Event = self.env["axivox.queue.event"]
        user = self.env.user.sudo()
        account = user.axivox_account_id
        if not account or not isinstance(number, str) or not number.strip():
            return Event._card_payload(
                number if isinstance(number, str) else "", None, "", []
            )
        self._check_rate("card")
        num = Event._normalize_number(account, number)
        partner = None
        if num:
            self.env["res.partner"].flush_model(
                ["axivox_phone_e164", "axivox_mobile_e164", "active", "company_id"]
            )
            self.env.cr.execute(
                PARTNER_FOR_NUMBER.format(num="%s", cid="%s"),
                [num, num, account.company_id.id],
            )
            row = self.env.cr.fetchone()
            if row:
                # A contact the user may not read is not shown.
                partner = (
                    self.env["res.partner"].browse(row[0])._filter_access_rules("read")
                )
        history = []
        Call = self.env["axivox.queue.call"]
        if num and Call.check_access_rights("read", raise_exception=False):
            readable = Call.search(
                [("account_id", "=", account.id), ("caller_e164", "=", num)],
                order="start_time desc, id desc",
                limit=CARD_HISTORY + 1,
            )
            history = Event._caller_histories(
                account, {num}, call_ids=readable.ids
            ).get(num, [])
        return Event._card_payload(number.strip(), partner, "", history)
