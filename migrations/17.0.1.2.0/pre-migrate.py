"""17.0.1.2.0: two PBX accounts never share a webhook secret (a unique constraint).
Before it is added, every account but the first of those sharing one is given a new
secret: its administrator gives that one to its PBX."""
import logging
import secrets

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """SELECT id FROM (
               SELECT id, row_number() OVER (
                          PARTITION BY webhook_secret ORDER BY id) AS rank
                 FROM axivox_account WHERE webhook_secret IS NOT NULL) shared
            WHERE rank > 1"""
    )
    for (account_id,) in cr.fetchall():
        cr.execute(
            "UPDATE axivox_account SET webhook_secret = %s WHERE id = %s",
            [secrets.token_urlsafe(32), account_id],
        )
        _logger.info(
            "PBX account %s shared its webhook secret with another: it was given a "
            "new one, to give to its PBX.",
            account_id,
        )
