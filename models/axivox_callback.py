"""axivox.callback: the callers to call back, and what agents do with them (claim, call
back, close); their ingestion is in ``axivox_callback_ingest.py``."""
import psycopg2.errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .axivox_account_owned_mixin import queue_field

# Queue calls that ended without an agent: the caller is to be called back.
UNANSWERED = ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "RINGCANCELED")
CALLBACK_STATES = [("open", "To call back"), ("claimed", "Claimed"), ("done", "Closed")]
CALLBACK_RESULTS = [
    ("reached", "Reached in a queue"),
    ("called_back", "Called back"),
    ("manual", "Closed by hand"),
]


class AxivoxCallback(models.Model):
    """A caller whose last queue call ended without an agent and who was not reached
    since: one open callback per caller number (and PBX account)."""

    _name = "axivox.callback"
    _description = "Queue Callback"
    _order = "call_time desc, id desc"
    _rec_name = "number"
    _inherit = ["axivox.account.owned.mixin"]

    company_id = fields.Many2one(required=True)
    queue_id = queue_field(help="The queue of the caller's last call without an agent.")
    number = fields.Char(
        required=True, readonly=True, help="The caller's number (E.164)."
    )
    caller_number = fields.Char("Number as Sent", readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Contact", ondelete="set null", readonly=True
    )
    state = fields.Selection(
        CALLBACK_STATES, required=True, default="open", readonly=True
    )
    call_time = fields.Datetime(
        "Called At",
        readonly=True,
        help="When the caller's last call without an agent ended.",
    )
    call_ts = fields.Float("Call Timestamp", digits=(16, 3), readonly=True)
    first_call_time = fields.Datetime("First Call", readonly=True)
    wait_time = fields.Integer(
        "Waiting Time (s)",
        readonly=True,
        help="How long the caller waited on the last call.",
    )
    attempts = fields.Integer(
        readonly=True,
        default=1,
        help="Calls of this caller that ended without an agent since the callback "
        "opened.",
    )
    last_call_id = fields.Char("Last Call ID", readonly=True)
    last_event_type = fields.Selection(
        [(code, code) for code in UNANSWERED], string="How It Ended", readonly=True
    )
    claimed_by_id = fields.Many2one("res.users", readonly=True)
    claimed_at = fields.Datetime(readonly=True)
    dial_call_id = fields.Char("Callback Call ID", readonly=True, copy=False)
    result = fields.Selection(CALLBACK_RESULTS, readonly=True)
    closed_by_id = fields.Many2one("res.users", readonly=True)
    closed_at = fields.Datetime(readonly=True)
    reached_ts = fields.Float(
        "Reached Timestamp",
        digits=(16, 3),
        readonly=True,
        help="When the caller was reached (epoch seconds): older unanswered calls "
        "never reopen a callback.",
    )
    close_reason = fields.Text("Reason", readonly=True)
    age_minutes = fields.Integer(
        "Age (min)",
        compute="_compute_age_minutes",
        help="Minutes since the caller's last call without an agent.",
    )

    def init(self):
        res = super().init()
        # Few indexes: the ingestion writes callbacks in bulk. One open callback per
        # caller number (the ingestion's upsert relies on it); the closed ones of a
        # number.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS axivox_callback_done_number_idx
                ON axivox_callback (number, account_id) WHERE state = 'done'
        """
        )
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS axivox_callback_open_number_uniq
                ON axivox_callback (account_id, number) WHERE state IN ('open',
                    'claimed')
        """
        )
        return res

    def _compute_age_minutes(self):
        now = fields.Datetime.now()
        for callback in self:
            callback.age_minutes = (
                int((now - callback.call_time).total_seconds() // 60)
                if callback.call_time
                else 0
            )

    @api.depends("number", "partner_id")
    def _compute_display_name(self):
        for callback in self:
            callback.display_name = (
                f"{callback.partner_id.name} ({callback.number})"
                if callback.partner_id
                else callback.number or ""
            )

    # ------------------------------------------------------------------
    # Agents: claim, call back, close
    # ------------------------------------------------------------------
    def _lock_for_change(self):
        """Lock the callback row for this transaction, or say why it cannot change:
        another agent is changing it right now, or changed it since this transaction
        started."""
        self.ensure_one()
        self.check_access_rights("read")
        self.check_access_rule("read")
        self.flush_recordset()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    "SELECT state, claimed_by_id FROM axivox_callback "
                    "WHERE id = %s FOR UPDATE NOWAIT",
                    [self.id],
                    log_exceptions=False,
                )
                row = cr.fetchone()
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            raise UserError(
                _(
                    "Another agent is taking this callback right now: refresh "
                    "the list."
                )
            ) from None
        if not row:
            raise UserError(_("This callback no longer exists."))
        self.invalidate_recordset()
        return row

    def action_claim(self):
        """Claim the callback for the current user; two agents never both get it."""
        for callback in self:
            state, claimer = callback._lock_for_change()
            if state == "done":
                raise UserError(
                    _("The callback of %s is already closed.", callback.display_name)
                )
            if state == "claimed" and claimer != self.env.uid:
                raise UserError(
                    _(
                        "%(user)s has already claimed the callback of %(caller)s.",
                        user=callback.sudo().claimed_by_id.name,
                        caller=callback.display_name,
                    )
                )
            if state == "open":
                callback.sudo().write(
                    {
                        "state": "claimed",
                        "claimed_by_id": self.env.uid,
                        "claimed_at": fields.Datetime.now(),
                    }
                )
        self._notify_queues(self.sudo().queue_id)
        return True

    def action_release(self):
        """Give a claimed callback back to the other agents."""
        for callback in self:
            state, claimer = callback._lock_for_change()
            if state != "claimed":
                continue
            if claimer != self.env.uid and not self.env.user.has_group(
                "voip_axivox_queue.group_axivox_manager"
            ):
                raise UserError(
                    _(
                        "Only the agent who claimed it or a manager can release "
                        "this callback."
                    )
                )
            callback.sudo().write(
                {"state": "open", "claimed_by_id": False, "claimed_at": False}
            )
        self._notify_queues(self.sudo().queue_id)
        return True

    def action_call_back(self):
        """Claim the callback and call the caller from the agent's extension (the
        softphone's dial path). An answered call closes it."""
        self.ensure_one()
        self.action_claim()
        info = self.env["axivox.softphone"].dial(self.sudo().number)
        self.sudo().dial_call_id = info.get("id") or False
        return dict(info, callback_id=self.id)

    def _close(self, result, reason=False):
        """Close as ``result`` by the current user, now. A caller called back was
        reached now; a callback closed by hand covers her calls up to its last one only.
        """
        now = fields.Datetime.now()
        for callback in self.sudo():
            callback.write(
                {
                    "state": "done",
                    "result": result,
                    "closed_by_id": self.env.uid,
                    "closed_at": now,
                    "close_reason": reason or False,
                    "reached_ts": callback.call_ts
                    if result == "manual"
                    else now.timestamp(),
                }
            )
        self._notify_queues(self.sudo().queue_id)

    def action_close(self, reason):
        """Close by hand, with a reason."""
        reason = (reason or "").strip() if isinstance(reason, str) else ""
        if not reason:
            raise UserError(_("Give the reason for closing the callback."))
        for callback in self:
            state, claimer = callback._lock_for_change()
            if state == "done":
                raise UserError(
                    _("The callback of %s is already closed.", callback.display_name)
                )
            if (
                state == "claimed"
                and claimer != self.env.uid
                and not self.env.user.has_group(
                    "voip_axivox_queue.group_axivox_manager"
                )
            ):
                raise UserError(
                    _(
                        "%(user)s has claimed the callback of %(caller)s.",
                        user=callback.sudo().claimed_by_id.name,
                        caller=callback.display_name,
                    )
                )
            callback._close("manual", reason)
        return True

    @api.model
    def _note_placed_call(self, info, number):
        """A call the current user placed (softphone or callback): when it was answered,
        the open callback of that number is closed, by her, now."""
        if not info or "answered" not in (info.get("state"), info.get("outcome")):
            return
        user = self.env.user.sudo()
        account = user.axivox_account_id
        if not account:
            return
        num = self.env["axivox.queue.event"]._normalize_number(account, number)
        callbacks = self.sudo().search(
            [
                ("account_id", "=", account.id),
                ("number", "=", num),
                ("state", "in", ("open", "claimed")),
            ]
        )
        for callback in callbacks:
            callback.with_user(self.env.user).sudo()._close("called_back")

    def action_check_call(self):
        """Re-read the callback call from the PBX: answered, it closes the callback
        (callbacks the user may read only)."""
        self.check_access_rights("read")
        self.check_access_rule("read")
        for callback in self.sudo().filtered(
            lambda c: c.state == "claimed" and c.dial_call_id
        ):
            account = callback.account_id
            with account._pbx_errors():
                call = account._pbx_client().get_call(callback.dial_call_id)
            info = self.env["axivox.softphone"]._call_info(call)
            if "answered" in (info.get("state"), info.get("outcome")):
                callback.with_user(self.env.user)._close("called_back")
        return True

    # ------------------------------------------------------------------
    # The bus
    # ------------------------------------------------------------------
    @api.model
    def _notify_queues(self, queues):
        """Tell the agents of these queues and the managers that their callbacks changed
        (their wallboards too)."""
        queues = queues.sudo().exists()
        if queues:
            self.env["axivox.queue"]._notify_contact_centre(queues.ids, queues.ids)
