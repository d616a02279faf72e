"""axivox.webhook.delivery: the webhook deliveries received lately, so that a captured
request sent again within the signature's tolerance is not processed twice."""

from odoo import api, fields, models

# Deliveries are remembered this long (seconds): longer than a signature is valid for
# (controllers/webhook.py, SIGNATURE_TOLERANCE), so a replay is always recognised.
REMEMBER_SECONDS = 600


class AxivoxWebhookDelivery(models.Model):
    """A webhook delivery Odoo processed: its account and its delivery id (the
    ``X-Axivox-Delivery`` header, or its signature when it has none)."""

    _name = "axivox.webhook.delivery"
    _description = "Received Webhook Delivery"
    _log_access = False

    account_id = fields.Many2one(
        "axivox.account", required=True, ondelete="cascade", readonly=True
    )
    delivery_key = fields.Char(required=True, readonly=True)
    received_at = fields.Datetime(required=True, readonly=True, index=True)

    _sql_constraints = [
        (
            "delivery_unique",
            "unique(account_id, delivery_key)",
            "This webhook delivery was received already.",
        )
    ]

    @api.model
    def _note(self, account, key):
        """Remember delivery ``key`` of ``account`` in the current transaction;
        returns False when it was received already (a replay, or a retry of a
        delivery processed already). A concurrent request with the same key waits for
        this transaction: the delivery is processed once."""
        self.env.cr.execute(
            """INSERT INTO axivox_webhook_delivery AS d
                      (account_id, delivery_key, received_at)
               VALUES (%s, %s, now() at time zone 'UTC')
               ON CONFLICT (account_id, delivery_key) DO UPDATE
                  SET received_at = EXCLUDED.received_at
                WHERE d.received_at < now() at time zone 'UTC'
                                      - %s * interval '1 second'
               RETURNING id""",
            [account.id, key[:200], REMEMBER_SECONDS],
        )
        return bool(self.env.cr.fetchall())

    @api.model
    def _forget_old(self):
        """Drop what is older than REMEMBER_SECONDS (the cron of the inbox)."""
        self.env.cr.execute(
            "DELETE FROM axivox_webhook_delivery"
            " WHERE received_at < now() at time zone 'UTC' - %s * interval '1 second'",
            [REMEMBER_SECONDS],
        )
