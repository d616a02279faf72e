"""axivox.queue.event.quarantine: the PBX events Odoo could not accept, with why."""
import hashlib
import json

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .axivox_queue_event import EVENT_SOURCES, insert_new_rows

MAX_RAW_CHARS = 65536
QUARANTINE_COLUMNS = (
    "account_id",
    "company_id",
    "pbx_event_id",
    "source",
    "reason",
    "raw_payload",
    "fingerprint",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
)


class AxivoxQueueEventQuarantine(models.Model):
    """A PBX event Odoo could not accept, kept for administrators with its reason.

    One bad event never blocks the others: it is set aside here, the good events of its
    page or batch are applied and the cursor moves past it.
    """

    _name = "axivox.queue.event.quarantine"
    _description = "Quarantined PBX Event"
    _order = "id desc"
    _rec_name = "pbx_event_id"
    _inherit = ["axivox.account.owned.mixin"]

    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True
    )
    pbx_event_id = fields.Char("PBX Event ID", readonly=True)
    source = fields.Selection(EVENT_SOURCES, readonly=True)
    reason = fields.Text(readonly=True)
    raw_payload = fields.Text(readonly=True)
    fingerprint = fields.Char(readonly=True, index=True)

    _sql_constraints = [
        (
            "fingerprint_unique",
            "unique(account_id, fingerprint)",
            "This event is already quarantined.",
        ),
    ]

    def action_apply_again(self):
        """Apply these events again (administrators), as the PBX sent them: after a
        fault that is gone, or a fix. An event applied (or stored already) leaves the
        quarantine; one refused again stays, with its first reason."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators can apply quarantined events."))
        Intake = self.env["axivox.event.intake"].sudo()
        Event = self.env["axivox.queue.event"].sudo()
        applied = self.browse()
        for record in self.sudo():
            try:
                item = json.loads(record.raw_payload or "")
            except ValueError:
                continue
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            with self.env.cr.savepoint():
                result = Intake._take_in(record.account_id, [item], record.source)
            if not result.get("quarantined") and Event.search_count(
                [
                    ("account_id", "=", record.account_id.id),
                    ("pbx_event_id", "=", item["id"]),
                ],
                limit=1,
            ):
                applied |= record
        kept = len(self) - len(applied)
        accounts = self.sudo().account_id
        applied.unlink()
        accounts.invalidate_recordset(["quarantine_count"])
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if kept else "success",
                "sticky": bool(kept),
                "message": _(
                    "%(applied)s event(s) applied; %(kept)s still refused, kept in "
                    "quarantine.",
                    applied=len(self) - kept,
                    kept=kept,
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _quarantine(self, account, rejected, source):
        """Keep ``rejected`` (``(raw item, reason)`` pairs) of ``account``; an event
        quarantined before (same raw payload) is kept once. Returns how many are new."""
        if not rejected:
            return 0
        uid = self.env.uid
        now = fields.Datetime.now()
        rows = {}
        for item, reason in rejected:
            raw = _raw_text(item)
            fingerprint = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()
            event_id = item.get("id") if isinstance(item, dict) else None
            event_id = (
                _clean(event_id if isinstance(event_id, str) else "")[:64] or None
            )
            rows[fingerprint] = (
                account.id,
                account.company_id.id,
                event_id,
                source,
                _clean(reason),
                raw[:MAX_RAW_CHARS],
                fingerprint,
                uid,
                now,
                uid,
                now,
            )
        inserted = insert_new_rows(
            self,
            QUARANTINE_COLUMNS,
            list(rows.values()),
            ("account_id", "fingerprint"),
        )
        self.invalidate_model()
        account.invalidate_recordset(["quarantine_count"])
        return len(inserted)


def _raw_text(item):
    """The event as the PBX sent it, as JSON text (NUL characters escaped)."""
    try:
        return json.dumps(item, ensure_ascii=True, sort_keys=True, default=str)
    except (ValueError, TypeError, RecursionError):
        return _clean(repr(item))[:MAX_RAW_CHARS]


def _clean(text):
    return str(text).replace("\x00", "\\u0000")
