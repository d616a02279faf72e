"""The calls of the simulated PBX (``PBXState`` inherits them): originate from an
extension, the dialed codes (queue login / logout codes) and their outcomes, call
states as the other end acts, hang up."""

import datetime
import time
import uuid

from ._compat import CODE_MESSAGES, PBXError, invalid, iso, utcnow


class PBXCalls:
    """Calls, on the state's users, queues and connections (a mixin of ``PBXState``)."""

    # -------------------------------------------------------------- calls
    def _public_call(self, call):
        if (
            call["state"] != "ended"
            and call.get("_ends_at") is not None
            and time.time() >= call["_ends_at"]
        ):
            call["state"] = "ended"
            call["ended_at"] = iso(
                datetime.datetime.fromtimestamp(call["_ends_at"], datetime.timezone.utc)
            )
            self.dirty = True
        return {k: v for k, v in call.items() if not k.startswith("_")}

    def originate(self, data):
        src, dst = self.check_call_request(data)
        now = utcnow()
        call = {
            "id": "call-" + uuid.uuid4().hex[:16],
            "from": src,
            "to": dst,
            "state": "ringing",
            "outcome": "ringing",
            "message": None,
            "queue_id": None,
            "started_at": iso(now),
            "ended_at": None,
            "_ends_at": None,
        }
        queue, action = self.code_of(dst)
        if queue is not None:
            call["queue_id"] = queue["id"]
            kind = self.member_type(queue, src)
            if kind is None:
                outcome = "not_a_member"
            elif kind == "static":
                outcome = "static_agent"
            else:
                outcome = self._dial_login_code(queue, src, action)
            message = CODE_MESSAGES[outcome] % queue["name"]
            # the PBX answers, plays a short message and hangs up
            call.update(
                outcome=outcome,
                message=message,
                state="answered",
                _ends_at=time.time() + self.announce_seconds,
            )
        elif dst in self.users:
            call.update(outcome="ringing", message="Ringing extension %s." % dst)
        else:
            call.update(
                state="answered", outcome="answered", message="Connected to %s." % dst
            )
        self.calls[call["id"]] = call
        self.dirty = True
        return self._public_call(call)

    def _dial_login_code(self, queue, src, action):
        """``src`` dialed the login or logout code of ``queue``: the outcome."""
        if action == "login":
            _, changed = self.connect_agent(queue["id"], src)
            done = "logged_in"
        else:
            _, changed = self.disconnect_agent(queue["id"], src)
            done = "logged_out"
        return done if changed else "already_" + done

    def get_call(self, call_id):
        call = self.calls.get(call_id)
        if call is None:
            raise PBXError(404, "call_not_found", "Call '%s' does not exist." % call_id)
        return self._public_call(call)

    def set_call_state(self, call_id, state):
        """The other end of a call acts (control API): ``answered`` (the callee picks
        up) or ``ended`` (someone hangs up). An ended call stays ended."""
        if state not in ("answered", "ended"):
            raise invalid("state", "Field 'state' must be 'answered' or 'ended'.")
        self.get_call(call_id)
        call = self.calls[call_id]
        if call["state"] != "ended" and call["state"] != state:
            call["state"] = state
            if state == "ended":
                call["ended_at"] = iso(utcnow())
                call["_ends_at"] = None
            self.dirty = True
        return self._public_call(call)

    def hangup(self, call_id):
        self.get_call(call_id)
        call = self.calls[call_id]
        if call["state"] != "ended":
            call["state"] = "ended"
            call["ended_at"] = iso(utcnow())
            call["_ends_at"] = None
            self.dirty = True
        return self._public_call(call)
