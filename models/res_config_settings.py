"""Settings: the number of PBX accounts of the company, with a link to them."""

from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    axivox_account_count = fields.Integer(
        "PBX Accounts", compute="_compute_axivox_account_count"
    )

    def _compute_axivox_account_count(self):
        Account = self.env["axivox.account"].sudo()
        for settings in self:
            settings.axivox_account_count = Account.search_count(
                [("company_id", "=", settings.company_id.id)]
            )
