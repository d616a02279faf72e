"""axivox.account.owned.mixin: the PBX account and company of the records Odoo builds
from a PBX account's data (agent sessions, callbacks, quarantined events), and
``queue_field``, the queue of those that belong to a queue."""
from odoo import fields, models


def queue_field(**kwargs):
    """The queue a record built from the PBX's data belongs to: read-only, deleted with
    the queue."""
    return fields.Many2one(
        "axivox.queue",
        string="Queue",
        index=True,
        ondelete="cascade",
        readonly=True,
        **kwargs,
    )


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
    company_id = fields.Many2one("res.company", readonly=True)
