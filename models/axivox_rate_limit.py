"""The rate limit of the PBX calls users trigger (axivox.rate.limit)."""

from datetime import timedelta

from odoo import api, fields, models

from ..transactions import own_transaction


class AxivoxRateLimit(models.Model):
    """Counters of the PBX calls a user may trigger (dialing, refreshing), per window.

    Kept in PostgreSQL, so that the limit holds across the workers and servers."""

    _name = "axivox.rate.limit"
    _description = "PBX Call Rate Limit"
    _log_access = False

    key = fields.Char(required=True, index=True)
    window_start = fields.Datetime(required=True)
    count = fields.Integer(required=True, default=0)

    _sql_constraints = [("key_unique", "unique(key)", "One counter per key.")]

    @api.model
    def _hit(self, key, limit, seconds):
        """Count one call for ``key``; False when it is over ``limit`` calls in the
        current window of ``seconds``. Counted in a transaction of its own, so that a
        call refused later still counts, and concurrent calls never conflict."""
        now = fields.Datetime.now()
        with own_transaction(self.env) as env:
            env.cr.execute(
                """INSERT INTO axivox_rate_limit AS r (key, window_start, count)
                   VALUES (%(key)s, %(now)s, 1)
                   ON CONFLICT (key) DO UPDATE SET
                       count = CASE WHEN r.window_start <= %(start)s
                                    THEN 1 ELSE r.count + 1 END,
                       window_start = CASE WHEN r.window_start <= %(start)s
                                           THEN %(now)s ELSE r.window_start END
                   RETURNING count""",
                {"key": key, "now": now, "start": now - timedelta(seconds=seconds)},
            )
            return env.cr.fetchone()[0] <= limit
