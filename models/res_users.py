"""The PBX extension of a user (``res.users``): which extension and PBX account she
calls from, and its checks. Her softphone is ``axivox.softphone``."""
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResUsers(models.Model):
    _inherit = "res.users"

    axivox_extension = fields.Char(
        "PBX Extension",
        copy=False,
        help="The extension of this user on the PBX: calls are placed from it and "
        "queue logins are made with it.",
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
                        "Choose the PBX account that extension %(ext)s of %(user)s "
                        "belongs to.",
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
                            "Extension %(ext)s is a code of queue %(queue)s: a code "
                            "can never be an extension.",
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
