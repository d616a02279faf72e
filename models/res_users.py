"""The PBX extension of a user (``res.users``): which extension and PBX account she
calls from, and its checks. Her softphone is ``axivox.softphone``."""
from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

SIP_FIELDS = ["axivox_sip_login", "axivox_sip_password"]


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
    # Her SIP credentials, for the softphone in her browser: readable and writable by
    # herself (SELF_READABLE_FIELDS / SELF_WRITEABLE_FIELDS) and administrators only.
    axivox_sip_login = fields.Char(
        "SIP Login",
        groups="base.group_system",
        copy=False,
        help="The user name the softphone registers with on the PBX. Empty: the PBX "
        "extension.",
    )
    axivox_sip_password = fields.Char(
        "SIP Password",
        groups="base.group_system",
        copy=False,
        help="The password of this user's SIP account on the PBX. With it (and the SIP "
        "WebSocket URL of the PBX account), the softphone is a phone in the browser.",
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
        return super().SELF_READABLE_FIELDS + [
            "axivox_extension",
            "axivox_account_id",
            *SIP_FIELDS,
        ]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + SIP_FIELDS

    @api.model
    def get_view(self, view_id=None, view_type="form", **options):
        # The SIP credentials form of her preferences shows fields of the
        # administrators' group that she may read and write on her own record
        # (SELF_READABLE_FIELDS): that view alone (it holds nothing else) is built
        # as the superuser, or its fields would be taken out of it.
        sip_view = self.env.ref(
            "voip_axivox_queue.res_users_view_form_sip", raise_if_not_found=False
        )
        if sip_view and view_id == sip_view.id:
            self = self.with_user(SUPERUSER_ID)
        return super().get_view(view_id, view_type, **options)

    def action_axivox_sip_credentials(self):
        """Her SIP login and password, in a form of their own (her preferences)."""
        self.ensure_one()
        if self != self.env.user and not self.env.user.has_group("base.group_system"):
            raise AccessError(_("You can only change your own SIP login and password."))
        return {
            "type": "ir.actions.act_window",
            "name": _("SIP Login and Password"),
            "res_model": "res.users",
            "res_id": self.id,
            "view_mode": "form",
            "views": [
                (self.env.ref("voip_axivox_queue.res_users_view_form_sip").id, "form")
            ],
            "target": "new",
        }

    @api.constrains(*SIP_FIELDS)
    def _check_axivox_sip_credentials(self):
        for user in self.sudo():
            login, password = user.axivox_sip_login, user.axivox_sip_password
            if login and (
                len(login) > 64
                or not login.isprintable()
                or any(c.isspace() or c in "@:;<>\"'" for c in login)
            ):
                raise ValidationError(
                    _(
                        "The SIP login of %(user)s must be a user name of at most 64 "
                        "characters, without spaces nor any of @ : ; < > \" '.",
                        user=user.name,
                    )
                )
            if password and (len(password) > 128 or not password.isprintable()):
                raise ValidationError(
                    _(
                        "The SIP password of %(user)s must be at most 128 printable "
                        "characters.",
                        user=user.name,
                    )
                )

    def _axivox_sip_config(self):
        """What her browser needs to register on the PBX (sudo read): the WebSocket
        URL, the SIP domain, her login and password; False unless the account has the
        URL and she has a password. For herself only: the softphone's state."""
        self.ensure_one()
        user = self.sudo()
        account = user.axivox_account_id
        if not (
            user.axivox_extension
            and account.sip_websocket_url
            and user.axivox_sip_password
        ):
            return False
        return {
            "websocket_url": account.sip_websocket_url,
            "domain": account._sip_domain(),
            "login": user.axivox_sip_login or user.axivox_extension,
            "password": user.axivox_sip_password,
        }

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
