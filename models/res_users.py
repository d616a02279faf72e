from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

# Calls (dial pad, login and logout codes) one user may place per DIAL_WINDOW seconds.
DIAL_LIMIT = 30
DIAL_WINDOW = 60


class ResUsers(models.Model):
    _inherit = "res.users"

    axivox_extension = fields.Char(
        "PBX Extension",
        copy=False,
        help="The extension of this user on the PBX: calls are placed from it and queue "
        "logins are made with it.",
    )
    axivox_account_id = fields.Many2one(
        "axivox.account",
        string="PBX Account",
        copy=False,
        help="The PBX account the extension belongs to (by default the company's).",
    )
    axivox_member_ids = fields.One2many(
        "axivox.queue.member", "user_id", string="Call Queue Memberships"
    )

    _sql_constraints = [
        (
            "axivox_extension_unique",
            "unique(axivox_account_id, axivox_extension)",
            "Another user already has this extension on this PBX account.",
        ),
    ]

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["axivox_extension", "axivox_account_id"]

    @api.constrains("axivox_extension", "axivox_account_id")
    def _check_axivox_extension(self):
        for user in self:
            self.env["axivox.queue"]._check_dial_string(
                user.axivox_extension, _("The PBX extension")
            )
            if user.axivox_extension and not user.axivox_account_id:
                raise ValidationError(
                    _(
                        "Choose the PBX account that extension %(ext)s of %(user)s belongs to.",
                        ext=user.axivox_extension,
                        user=user.name,
                    )
                )
            if user.axivox_extension:
                clash = (
                    self.env["axivox.queue"]
                    .sudo()
                    .with_context(active_test=False)
                    .search(
                        [
                            ("account_id", "=", user.axivox_account_id.id),
                            "|",
                            ("login_code", "=", user.axivox_extension),
                            ("logout_code", "=", user.axivox_extension),
                        ],
                        limit=1,
                    )
                )
                if clash:
                    raise ValidationError(
                        _(
                            "Extension %(ext)s is a code of queue %(queue)s: a code can never "
                            "be an extension.",
                            ext=user.axivox_extension,
                            queue=clash.name,
                        )
                    )

    @api.onchange("axivox_extension")
    def _onchange_axivox_extension(self):
        if self.axivox_extension and not self.axivox_account_id:
            self.axivox_account_id = self.env["axivox.account"]._default_for_company(
                self.company_id
            )

    # ------------------------------------------------------------------
    # The softphone (systray widget) of the current user
    # ------------------------------------------------------------------
    @api.model
    def axivox_softphone_state(self):
        """Everything the softphone shows, for the current user, in one call."""
        user = self.env.user
        members = (
            self.env["axivox.queue.member"]
            .sudo()
            .search([("user_id", "=", user.id), ("queue_id.active", "=", True)])
        )
        queues = [
            {
                "member_id": member.id,
                "queue_id": member.queue_id.id,
                "name": member.queue_id.name,
                "extension": member.queue_id.extension,
                "login_code": member.queue_id.login_code,
                "logout_code": member.queue_id.logout_code,
                "member_type": member.member_type,
                "connected": member.connected,
                "connected_since": fields.Datetime.to_string(member.connected_since),
                "connected_count": member.queue_id.connected_count,
            }
            for member in members
        ]
        return {
            "extension": user.axivox_extension or False,
            "queues": queues,
            "connected_queue_count": sum(1 for q in queues if q["connected"]),
        }

    @api.model
    def axivox_dial(self, number):
        """Place a call from the current user's extension (the green button)."""
        number = (number or "").strip() if isinstance(number, str) else ""
        if not number.lstrip("+"):
            raise UserError(_("Type a number to call."))
        self.env["axivox.queue"]._check_dial_string(
            number[1:] if number.startswith("+") else number, _("The number")
        )
        if (
            not self.env["axivox.rate.limit"]
            .sudo()
            ._hit(f"dial:{self.env.uid}", DIAL_LIMIT, DIAL_WINDOW)
        ):
            raise UserError(
                _("Too many calls in a short time: wait a minute, then try again.")
            )
        user = self.env.user.sudo()
        account = user._axivox_account_for_dial()
        with account._pbx_errors():
            call = account._pbx_client().originate(user.axivox_extension, number)
        return self._axivox_call_info(call)

    @api.model
    def axivox_hangup(self, call_id):
        """Hang up a call the current user placed (the red button)."""
        if not call_id or not isinstance(call_id, str):
            raise UserError(_("There is no call to hang up."))
        user = self.env.user.sudo()
        account = user._axivox_account_for_dial()
        with account._pbx_errors():
            client = account._pbx_client()
            call = client.get_call(call_id)
            if call.get("from") != user.axivox_extension:
                raise UserError(_("You can only hang up your own calls."))
            call = client.hangup(call_id)
        return self._axivox_call_info(call or {"id": call_id, "state": "ended"})

    @api.model
    def axivox_call_state(self, call_id):
        """The state of a call the current user placed, as the PBX has it now (the panel
        asks every second while it shows a call that has not ended)."""
        if not call_id or not isinstance(call_id, str):
            raise UserError(_("There is no call to follow."))
        user = self.env.user.sudo()
        account = user._axivox_account_for_dial()
        with account._pbx_errors():
            call = account._pbx_client().get_call(call_id)
        if call.get("from") != user.axivox_extension:
            raise UserError(_("You can only follow your own calls."))
        return self._axivox_call_info(call)

    @api.model
    def axivox_disconnect_all(self):
        """Dial the disconnection code of every queue the user is connected to.

        Every queue is tried, even when one fails: a failure is returned as a call info
        with ``state`` and ``outcome`` "error" and the reason in ``message``.
        """
        user = self.env.user
        user.sudo()._axivox_account_for_dial()  # a clear error when there is no extension
        members = (
            self.env["axivox.queue.member"]
            .sudo()
            .search(
                [
                    ("user_id", "=", user.id),
                    ("member_type", "=", "dynamic"),
                    ("connected", "=", True),
                    ("queue_id.active", "=", True),
                ]
            )
        )
        infos = []
        for member in members:
            try:
                infos.append(member.with_user(user)._softphone_dial(False))
            except UserError as exc:
                infos.append(
                    {
                        "id": False,
                        "from": user.sudo().axivox_extension,
                        "to": member.queue_id.logout_code,
                        "state": "error",
                        "outcome": "error",
                        "message": exc.args[0],
                        "member_id": member.id,
                        "queue_id": member.queue_id.id,
                    }
                )
        return infos

    def _axivox_account_for_dial(self):
        self.ensure_one()
        if not self.axivox_extension or not self.axivox_account_id:
            raise UserError(
                _(
                    "You have no PBX extension: ask an administrator to map your user to one."
                )
            )
        return self.axivox_account_id

    @api.model
    def _axivox_call_info(self, call):
        call = call.get("call", call)
        return {
            key: call.get(key)
            for key in ("id", "from", "to", "state", "outcome", "message")
        }
