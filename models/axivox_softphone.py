"""The softphone's server side (``axivox.softphone``): everything the systray widget
calls, for the current user only: her state, dial, hang up, follow a call, log in and
out of her queues, log out of all of them."""
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..transactions import own_transaction

# Calls (dial pad, login and logout codes) one user may place per DIAL_WINDOW seconds.
DIAL_LIMIT = 30
DIAL_WINDOW = 60


class AxivoxSoftphone(models.AbstractModel):
    _name = "axivox.softphone"
    _description = "Call Queue Softphone"

    @api.model
    def get_state(self):
        """Everything the softphone shows, for the current user, in one call."""
        user = self.env.user
        members = (
            self.env["axivox.queue.member"]
            .sudo()
            .search([("user_id", "=", user.id), ("queue_id.active", "=", True)])
        )
        queues = [
            {
                "member_id": member.id,
                "queue_id": member.queue_id.id,
                "name": member.queue_id.name,
                "extension": member.queue_id.extension,
                "login_code": member.queue_id.login_code,
                "logout_code": member.queue_id.logout_code,
                "member_type": member.member_type,
                "connected": member.connected,
                "connected_since": fields.Datetime.to_string(member.connected_since),
                "connected_count": member.queue_id.connected_count,
            }
            for member in members
        ]
        return {
            "extension": user.axivox_extension or False,
            "queues": queues,
            "connected_queue_count": sum(1 for q in queues if q["connected"]),
            # Her own SIP account, for the phone in her browser (False: the PBX API
            # places her calls from her desk phone).
            "sip": user._axivox_sip_config(),
        }

    # ------------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------------
    @api.model
    def dial(self, number):
        """Place a call from the current user's extension (the green button)."""
        number = (number or "").strip() if isinstance(number, str) else ""
        if not number.lstrip("+"):
            raise UserError(_("Type a number to call."))
        self.env["axivox.queue"]._check_dial_string(
            number[1:] if number.startswith("+") else number, _("The number")
        )
        self._check_rate("dial")
        user = self.env.user.sudo()
        account = self._account_for_dial()
        with account._pbx_errors():
            # once per click, also when Odoo serves the RPC again after a
            # serialization failure of what follows (closing her callback, ...)
            call = account._once_per_request(
                ("originate", user.axivox_extension, number),
                lambda: account._pbx_client().originate(user.axivox_extension, number),
            )
        return self._call_info(call)

    @api.model
    def hang_up(self, call_id):
        """Hang up a call the current user placed (the red button)."""
        if not call_id or not isinstance(call_id, str):
            raise UserError(_("There is no call to hang up."))
        user = self.env.user.sudo()
        account = self._account_for_dial()
        with account._pbx_errors():
            client = account._pbx_client()
            call = client.get_call(call_id)
            if call.get("from") != user.axivox_extension:
                raise UserError(_("You can only hang up your own calls."))
            call = client.hangup(call_id)
        return self._call_info(call or {"id": call_id, "state": "ended"})

    @api.model
    def call_state(self, call_id):
        """The state of a call the current user placed, as the PBX has it now (the panel
        asks every second while it shows a call that has not ended)."""
        if not call_id or not isinstance(call_id, str):
            raise UserError(_("There is no call to follow."))
        user = self.env.user.sudo()
        account = self._account_for_dial()
        with account._pbx_errors():
            call = account._pbx_client().get_call(call_id)
        if call.get("from") != user.axivox_extension:
            raise UserError(_("You can only follow your own calls."))
        return self._call_info(call)

    # ------------------------------------------------------------------
    # Her queues
    # ------------------------------------------------------------------
    @api.model
    def connect(self, member_id):
        """The agent's own Connect button: dial the queue's agent connection code."""
        return self._dial_code(self._own_member(member_id), True)

    @api.model
    def disconnect(self, member_id):
        """The agent's own Disconnect button: dial the queue's agent disconnection
        code."""
        return self._dial_code(self._own_member(member_id), False)

    @api.model
    def disconnect_all(self):
        """Dial the disconnection code of every queue the user is connected to.

        Every queue is tried, even when one fails: a failure is returned as a call info
        with ``state`` and ``outcome`` "error" and the reason in ``message``.
        """
        self._account_for_dial()  # a clear error when there is no extension
        members = (
            self.env["axivox.queue.member"]
            .sudo()
            .search(
                [
                    ("user_id", "=", self.env.uid),
                    ("member_type", "=", "dynamic"),
                    ("connected", "=", True),
                    ("queue_id.active", "=", True),
                ]
            )
        )
        infos = []
        for member in members:
            try:
                infos.append(self._dial_code(member, False))
            except UserError as exc:
                infos.append(
                    {
                        "id": False,
                        "from": self.env.user.sudo().axivox_extension,
                        "to": member.queue_id.logout_code,
                        "state": "error",
                        "outcome": "error",
                        "message": exc.args[0],
                        "member_id": member.id,
                        "queue_id": member.queue_id.id,
                    }
                )
        return infos

    @api.model
    def _own_member(self, member_id):
        """The membership ``member_id`` (sudo), if it is the current user's own."""
        member = self.env["axivox.queue.member"].sudo()
        if isinstance(member_id, int) and not isinstance(member_id, bool):
            member = member.browse(member_id).exists()
        if not member or member.user_id != self.env.user:
            raise UserError(_("You can only log yourself in or out of a queue."))
        return member

    @api.model
    def _dial_code(self, member, connect):
        """Dial the login / logout code of ``member`` (the current user's own, sudo)
        from her extension, as she would on the pad.

        The PBX plays its two-second message and hangs up; the login state changes when
        its ADDMEMBER / REMOVEMEMBER event arrives, not before. A code the PBX accepted
        is remembered for the agent sessions: that event comes from the softphone.
        """
        if member.member_type == "static":
            raise UserError(
                _(
                    "You are a static agent of %(queue)s: you are always connected.",
                    queue=member.queue_id.name,
                )
            )
        code = member.queue_id.login_code if connect else member.queue_id.logout_code
        info = self.dial(code)
        if info.get("outcome") in ("logged_in", "logged_out"):
            self._note_code_dialed(member, connect)
        return dict(info, member_id=member.id, queue_id=member.queue_id.id)

    @api.model
    def note_sip_code(self, member_id, connect):
        """The phone in her browser dialed the login (``connect``) or logout code of her
        own membership ``member_id`` over SIP: the PBX's event to come (or just come)
        comes from the softphone, as when the PBX API dials it."""
        member = self._own_member(member_id)
        if not isinstance(connect, bool):
            raise UserError(_("Say whether you connect or disconnect."))
        if member.member_type == "static":
            raise UserError(
                _(
                    "You are a static agent of %(queue)s: you are always connected.",
                    queue=member.queue_id.name,
                )
            )
        self._account_for_dial()  # a clear error when there is no extension
        self._note_code_dialed(member, connect)
        return True

    @api.model
    def _note_code_dialed(self, member, connect):
        """Remember for the agent sessions that the softphone logged ``member`` (sudo)
        in or out.

        In a transaction of its own, committed at once: the PBX's event may change the
        membership meanwhile, and Odoo running the action again after such a
        serialization failure would dial the code a second time."""
        account = member.queue_id.account_id
        with own_transaction(account.env) as env:
            env["axivox.agent.session"]._note_local_change(
                member.with_env(env), connect, "widget"
            )
        member.invalidate_recordset()

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    @api.model
    def _check_rate(self, kind):
        """Refuse, with a clear error, the current user's calls (``kind`` "dial") or
        caller-card look-ups ("card") past DIAL_LIMIT per DIAL_WINDOW seconds."""
        if (
            not self.env["axivox.rate.limit"]
            .sudo()
            ._hit(f"{kind}:{self.env.uid}", DIAL_LIMIT, DIAL_WINDOW)
        ):
            raise UserError(
                _("Too many calls in a short time: wait a minute, then try again.")
            )

    @api.model
    def _account_for_dial(self):
        """The PBX account of the current user's extension (sudo)."""
        user = self.env.user.sudo()
        if not user.axivox_extension or not user.axivox_account_id:
            raise UserError(
                _(
                    "You have no PBX extension: ask an administrator to map your user "
                    "to one."
                )
            )
        return user.axivox_account_id

    @api.model
    def _call_info(self, call):
        """What the softphone shows of a PBX call."""
        call = call.get("call", call)
        return {
            key: call.get(key)
            for key in ("id", "from", "to", "state", "outcome", "message")
        }
