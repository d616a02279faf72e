"""The demo data's week of queue report lines (demo/axivox_demo.xml calls the hook): the
PBX simulator's traffic generator plays it on the demo account's queues, and the events
go through the normal ingestion, as a sync's would."""

from datetime import timezone

from odoo import api, fields, models

from ..axivox_api.events import validate_batch
from ..axivox_simulator.traffic import working_days


class AxivoxQueueEvent(models.Model):
    _inherit = "axivox.queue.event"

    @api.model
    def _demo_generate_week(self, account_id, seed=17, calls_per_day=40, days=7):
        """Ingest ``days`` days and today of deterministic traffic on the queues of the
        account ``account_id`` (its members and who is connected now)."""
        account = self.env["axivox.account"].browse(account_id)
        queues = account.queue_ids.filtered("remote_id")
        members = queues.member_ids
        data = {
            "users": [
                {"extension": u.axivox_extension, "name": u.name}
                for u in members.user_id
            ],
            "queues": [
                {
                    "id": q.remote_id,
                    "name": q.name,
                    "extension": q.extension,
                    "strategy": q.strategy,
                    "max_wait_time": q.max_wait_time,
                    "max_ring_time": q.max_ring_time,
                    "login_code": q.login_code,
                    "logout_code": q.logout_code,
                    **{
                        f"{kind}_agents": q.member_ids.filtered(
                            lambda m, kind=kind: m.member_type == kind
                        ).user_id.mapped("axivox_extension")
                        for kind in ("static", "dynamic")
                    },
                }
                for q in queues
            ],
            "connected_agents": [
                {"queue_id": m.queue_id.remote_id, "extension": m.user_id.axivox_extension}
                for m in members
                if m.member_type == "dynamic" and m.connected
            ],
        }
        now = fields.Datetime.now().replace(tzinfo=timezone.utc)
        events = working_days(data, now, days, seed, calls_per_day)
        return self._ingest(account, validate_batch({"events": events}), "sync")
