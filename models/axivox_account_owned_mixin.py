"""axivox.account.owned.mixin: the PBX account and company of the records Odoo builds
from a PBX account's data (agent sessions, callbacks, quarantined events)."""
from odoo import fields, models


class AxivoxAccountOwnedMixin(models.AbstractModel):
    """The PBX account a record was built from (read-only, deleted with the account) and
    its company. A model whose company field differs (required, indexed, or related to
    the account's) redeclares only what differs."""

    _name = "axivox.account.owned.mixin"
    _description = "Owned by a PBX Account"

    account_id = fields.Many2one(
        "axivox.account",
        string="PBX Account",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
