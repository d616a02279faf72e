"""The PBX model of the gateway: the shared model (``axivox_server.pbx``), with
Asterisk doing what the simulator pretends.

- queues: kept in the gateway's state (Asterisk has no API that stores them); each
  change is written as app_queue configuration and dialplan (``dialplan``) and
  reloaded at once, before the API answers;
- agents: who is connected is what Asterisk's app_queue says (AMI ``QueueStatus`` at
  each connection, then its member events); a manager's connect / disconnect is AMI's
  ``QueueAdd`` / ``QueueRemove``, an agent's code runs ``AddQueueMember`` /
  ``RemoveQueueMember`` in the dialplan;
- calls: AMI ``Originate`` from the caller's device into ``axivox-agents``, followed
  by the channel's AMI events;
- events: never made up here: they come from Asterisk's queue_log (``queue_log``).
"""

import asyncio
import datetime
import time
import uuid

from ._compat import CODE_MESSAGES, PBXError, PBXModel, invalid, iso, utcnow
from .ami import AMIError
from .dialplan import RESERVED_QUEUE_NAMES, device

# How long ``POST /calls`` waits for a code's outcome before answering "ringing" (an
# agent's desk phone must be picked up first; a demo device answers at once).
OUTCOME_WAIT = 1.5
# How long a connect / disconnect waits for Asterisk's member event.
MEMBER_WAIT = 5.0


def unavailable(reason):
    return PBXError(
        503, "unavailable", "The PBX is temporarily unavailable (%s)." % reason
    )


class AsteriskPBX(PBXModel):
    """The gateway's PBX. ``link`` (set by the gateway) has ``ami`` (an
    ``ami.AMIClient``) and ``write_config()`` (a coroutine: writes the
    configuration and reloads it in Asterisk)."""

    def __init__(self, data, device_template, announce_seconds=2.0, max_events=200000):
        self.device_template = device_template
        self.max_events = max_events
        self.link = None
        self.changed_members = asyncio.Event()
        # Where the queue_log was read up to, saved with the events read before it.
        self.log_state = {"position": None, "second": None, "seen": {}, "callers": {}}
        super().__init__(data, announce_seconds=announce_seconds)

    def device(self, ext):
        return device(self.device_template, ext)

    def _member_event(self, *args, **kwargs):
        """Asterisk writes the member events to its queue_log itself."""
        return None

    def _ami(self):
        ami = self.link.ami
        if not ami.connected:
            raise unavailable("Asterisk's manager interface is not connected")
        return ami

    async def _write_config(self):
        try:
            await self.link.write_config()
        except AMIError as exc:
            raise unavailable(str(exc)) from None

    # ------------------------------------------------------------- queues
    async def create_queue(self, data):
        self._ami()
        if isinstance(data, dict) and data.get("id") in RESERVED_QUEUE_NAMES:
            raise invalid("id", "'%s' is a reserved name on Asterisk." % data["id"])
        queue = super().create_queue(data)
        if queue["id"] in RESERVED_QUEUE_NAMES:  # made from the name
            del self.queues[queue["id"]]
            raise invalid("name", "This name is reserved on Asterisk: choose another.")
        await self._write_config()
        return queue

    async def update_queue(self, queue_id, data, if_match=None):
        ami = self._ami()
        before = set(self.get_queue(queue_id)["dynamic_agents"])
        connected = {e for (q, e) in self.connections if q == queue_id}
        queue = super().update_queue(queue_id, data, if_match)
        removed = (before - set(queue["dynamic_agents"])) & connected
        for ext in sorted(removed):
            # No longer an agent of the queue: logged out on Asterisk too.
            await ami.action("QueueRemove", Queue=queue_id, Interface=self.device(ext))
        await self._write_config()
        return queue

    async def delete_queue(self, queue_id):
        self._ami()
        super().delete_queue(queue_id)
        await self._write_config()

    def apply(self):
        """Changes take effect in Asterisk as they are made: nothing waits."""
        return super().apply()

    # ------------------------------------------------------------- agents
    def set_members(self, members):
        """Asterisk's dynamic members: ``{(queue, extension): connected_since}``."""
        self.connections = {
            key: since
            for key, since in members.items()
            if key[0] in self.queues and key[1] in self.queues[key[0]]["dynamic_agents"]
        }
        self.dirty = True
        self._members_changed()

    def member_added(self, queue_id, ext, since=None):
        queue = self.queues.get(queue_id)
        if queue is None or ext not in queue["dynamic_agents"]:
            return
        self.connections.setdefault((queue_id, ext), since or iso(utcnow()))
        self.dirty = True
        self._members_changed()

    def member_removed(self, queue_id, ext):
        if self.connections.pop((queue_id, ext), None) is not None:
            self.dirty = True
        self._members_changed()

    def _members_changed(self):
        old, self.changed_members = self.changed_members, asyncio.Event()
        old.set()

    async def _wait_member(self, key, connected):
        deadline = time.monotonic() + MEMBER_WAIT
        while (key in self.connections) != connected:
            left = deadline - time.monotonic()
            if left <= 0:
                raise unavailable("Asterisk did not confirm the change in time")
            waiter = self.changed_members
            try:
                await asyncio.wait_for(waiter.wait(), left)
            except asyncio.TimeoutError:
                continue

    async def connect_agent(self, queue_id, ext):
        queue, kind = self._member(queue_id, ext)
        key = (queue_id, ext)
        if kind != "dynamic" or key in self.connections:
            return self.agent(queue, ext), False
        response = await self._ami().action(
            "QueueAdd",
            Queue=queue_id,
            Interface=self.device(ext),
            MemberName=ext,
            Paused="false",
        )
        if response.get("Response") != "Success":
            # Asterisk has her already (the state will say so), or lost the queue.
            message = response.get("Message", "")
            if "Already" not in message:
                raise unavailable("Asterisk refused: %s" % message)
        await self._wait_member(key, True)
        return self.agent(queue, ext), True

    async def disconnect_agent(self, queue_id, ext):
        queue, kind = self._member(queue_id, ext)
        if kind == "static":
            return super().disconnect_agent(queue_id, ext)  # the 409
        key = (queue_id, ext)
        if key not in self.connections:
            return self.agent(queue, ext), False
        response = await self._ami().action(
            "QueueRemove", Queue=queue_id, Interface=self.device(ext)
        )
        if response.get("Response") != "Success":
            message = response.get("Message", "")
            if "Not there" not in message:
                raise unavailable("Asterisk refused: %s" % message)
            self.member_removed(queue_id, ext)
        await self._wait_member(key, False)
        return self.agent(queue, ext), True

    # -------------------------------------------------------------- calls
    async def originate(self, data):
        src, dst = self.check_call_request(data)
        ami = self._ami()
        call_id = "call-" + uuid.uuid4().hex[:16]
        queue, _action = self.code_of(dst)
        call = {
            "id": call_id,
            "from": src,
            "to": dst,
            "state": "ringing",
            "outcome": "ringing",
            "message": None,
            "queue_id": queue["id"] if queue else None,
            "started_at": iso(utcnow()),
            "ended_at": None,
            "_channel": None,
            "_code": queue is not None,
            "_changed": asyncio.Event(),
        }
        self.calls[call_id] = call
        response = await ami.action(
            "Originate",
            Channel=self.device(src),
            Context="axivox-agents",
            Exten=dst,
            Priority=1,
            CallerID="{} <{}>".format(self.users[src]["name"], src),
            Timeout=30000,
            ChannelId=call_id,
            Async="true",
        )
        if response.get("Response") != "Success":
            self._end_call(call, "The PBX could not place the call.")
        elif call["_code"]:
            # A code: its outcome usually comes at once (the UserEvent of the dialplan).
            deadline = time.monotonic() + OUTCOME_WAIT
            while call["outcome"] == "ringing" and call["state"] != "ended":
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                waiter = call["_changed"]
                try:
                    await asyncio.wait_for(waiter.wait(), left)
                except asyncio.TimeoutError:
                    break
        return self.public_call(call)

    @staticmethod
    def public_call(call):
        return {k: v for k, v in call.items() if not k.startswith("_")}

    def _touch(self, call):
        old, call["_changed"] = call["_changed"], asyncio.Event()
        old.set()
        self.dirty = True

    def _end_call(self, call, message=None):
        if call["state"] != "ended":
            call["state"] = "ended"
            call["ended_at"] = iso(utcnow())
            if message and not call["message"]:
                call["message"] = message
            self._touch(call)

    def get_call(self, call_id):
        call = self.calls.get(call_id)
        if call is None:
            raise PBXError(404, "call_not_found", "Call '%s' does not exist." % call_id)
        return self.public_call(call)

    async def hangup(self, call_id):
        self.get_call(call_id)
        call = self.calls[call_id]
        if call["state"] != "ended" and call["_channel"]:
            try:
                await self._ami().action("Hangup", Channel=call["_channel"])
            except AMIError as exc:
                raise unavailable(str(exc)) from None
        self._end_call(call)
        return self.public_call(call)

    def call_event(self, message):
        """A channel event of AMI about one of the calls the API placed."""
        call = self.calls.get(message.get("Uniqueid"))
        if call is None:
            return
        event = message.get("Event")
        if event == "Newchannel":
            call["_channel"] = message.get("Channel")
        elif event == "Newstate" and message.get("ChannelState") == "6":
            # Up: the caller's device answered; a code or an outside number then
            # answers at once, an extension when it picks up (BridgeEnter).
            if call["state"] == "ringing" and (
                call["_code"] or call["to"] not in self.users
            ):
                call["state"] = "answered"
                if not call["_code"]:
                    call["outcome"] = "answered"
                self._touch(call)
        elif event == "BridgeEnter" and call["state"] == "ringing":
            call.update(state="answered", outcome="answered")
            self._touch(call)
        elif event == "UserEvent" and message.get("UserEvent") == "AxivoxCode":
            outcome = message.get("Outcome")
            queue = self.queues.get(message.get("Queue"))
            if outcome in CODE_MESSAGES:
                call["outcome"] = outcome
                call["message"] = CODE_MESSAGES[outcome] % (
                    queue["name"] if queue else message.get("Queue")
                )
                call["state"] = "answered"
                self._touch(call)
        elif event == "Hangup":
            self._end_call(call)
        elif event == "OriginateResponse" and message.get("Response") == "Failure":
            self._end_call(call, "The PBX could not reach the caller's device.")

    def forget_old_calls(self, hours=24):
        """Calls ended more than ``hours`` ago are dropped from memory."""
        limit = utcnow() - datetime.timedelta(hours=hours)
        for call_id, call in list(self.calls.items()):
            if call["ended_at"] and call["ended_at"] < iso(limit):
                del self.calls[call_id]

    # ------------------------------------------------------------- events
    def append_event(self, event):
        """Add an event read from the queue_log, with the next ``seq``. The feed
        keeps the last ``max_events``: older ones are in Odoo (or the queue_log)."""
        self.seq += 1
        event = self._append(dict(event, seq=self.seq))
        if len(self.events) > self.max_events * 1.1:
            drop = len(self.events) - self.max_events
            del self.events[:drop]
            del self._seqs[:drop]
        return event

    def snapshot(self):
        snap = super().snapshot()
        snap["calls"] = [self.public_call(c) for c in self.calls.values()]
        snap["queue_log"] = self.log_state
        return snap

    def restore(self, snap):
        users = self.users
        result = super().restore(snap)
        self.log_state = snap.get("queue_log") or self.log_state
        self.users = users  # always the gateway's configuration
        for call in self.calls.values():
            call.update(
                _channel=None,
                _code=bool(call.get("queue_id")),
                _changed=asyncio.Event(),
            )
        return result
