"""A small asyncio client of the Asterisk Manager Interface (AMI).

It keeps one connection up (reconnecting with a growing pause when Asterisk is down or
restarts), sends actions and returns their response (with the events of a list action,
up to its ``EventList: Complete``), and hands every other event to a callback. Only
what the gateway needs: AMI is a line protocol of ``Key: Value`` blocks.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import os

_logger = logging.getLogger("axivox_gateway.ami")


class AMIError(Exception):
    """An action failed: Asterisk refused it, the connection is down, or no answer."""


class AMIClient:
    """``on_event(message)`` is called for each event (a dict); ``on_connect()`` (a
    coroutine function) after each successful login, before other actions are
    answered. ``connected`` tells whether the AMI is up now; ``last_error`` why not.
    ``events``: the classes of events to receive (AMI's ``Events`` of the login);
    the dialplan's own (VarSet, Newexten...), the bulk of a busy PBX's, are not
    among the default ones."""

    def __init__(
        self,
        host,
        port,
        username,
        secret,
        on_event=None,
        on_connect=None,
        events="system,call,agent,user",
    ):
        self.host, self.port = host, int(port)
        self.username, self.secret = username, secret
        self.events = events
        self.on_event = on_event or (lambda message: None)
        self.on_connect = on_connect
        self.connected = False
        self.last_error = "not connected yet"
        self._writer = None
        self._pending = {}  # action id -> (future, events list or None)
        self._ids = itertools.count(1)
        self._up = asyncio.Event()

    # ------------------------------------------------------------- running
    async def run(self):
        """Stay connected until cancelled."""
        pause = 0.2
        while True:
            try:
                await self._session()
                pause = 0.2
            except (OSError, asyncio.IncompleteReadError, AMIError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._down()
            await asyncio.sleep(pause)
            pause = min(5.0, pause * 2)

    async def _session(self):
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        try:
            banner = await reader.readline()
            if not banner.startswith(b"Asterisk Call Manager"):
                raise AMIError("not an AMI server: %r" % banner[:60])
            reading = asyncio.ensure_future(self._read(reader))
            try:
                await self._login()
                self.connected, self.last_error = True, None
                if self.on_connect is not None:
                    await self.on_connect()
                self._up.set()
                await reading
            finally:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading
        finally:
            writer.close()

    async def _login(self):
        response = await self.action(
            "Login",
            Username=self.username,
            Secret=self.secret,
            Events=self.events,
            _any_state=True,
        )
        if response.get("Response") != "Success":
            raise AMIError("login refused: %s" % response.get("Message"))

    def _down(self):
        self.connected = False
        self._up.clear()
        self._writer = None
        pending, self._pending = self._pending, {}
        for future, _events in pending.values():
            if not future.done():
                future.set_exception(AMIError("the AMI connection was lost"))

    async def _read(self, reader):
        message = {}
        while True:
            line = await reader.readline()
            if not line:
                raise AMIError("Asterisk closed the AMI connection")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(":")
                key, value = key.strip(), value.strip()
                if key in message and key == "Output":
                    message[key] += "\n" + value
                else:
                    message[key] = value
                continue
            if message:
                self._dispatch(message)
            message = {}

    def _dispatch(self, message):
        action_id = message.get("ActionID")
        waiting = self._pending.get(action_id) if action_id else None
        if waiting is None:
            if "Event" in message:
                try:
                    self.on_event(message)
                except Exception:  # an event handler's bug must not drop the link
                    _logger.exception("AMI event handler failed on %s", message)
            return
        future, events = waiting
        if "Response" in message:
            if events is None or message.get("Response") != "Success":
                self._pending.pop(action_id, None)
                if not future.done():
                    future.set_result((message, []))
            else:
                events.append(("response", message))
            return
        if events is not None:
            if message.get("EventList") == "Complete":
                self._pending.pop(action_id, None)
                response = events[0][1] if events and events[0][0] == "response" else {}
                if not future.done():
                    future.set_result(
                        (response, [m for kind, m in events if kind == "event"])
                    )
            else:
                events.append(("event", message))

    # ------------------------------------------------------------- actions
    async def wait_connected(self, timeout):
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout)
        return self.connected

    async def action(
        self, name, _timeout=10.0, _list=False, _any_state=False, **fields
    ):
        """Send action ``name`` with ``fields``; return its response (a dict), or with
        ``_list`` ``(response, events)``. Raises ``AMIError`` when the AMI is down or
        does not answer in ``_timeout`` seconds."""
        if self._writer is None or not (self.connected or _any_state):
            raise AMIError("the AMI is not connected (%s)" % self.last_error)
        action_id = "axivox-%d" % next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = (future, [] if _list else None)
        lines = ["Action: %s" % name, "ActionID: %s" % action_id]
        for key, value in fields.items():
            values = value if isinstance(value, list | tuple) else [value]
            lines += [f"{key}: {v}" for v in values if v is not None]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        try:
            response, events = await asyncio.wait_for(future, _timeout)
        except asyncio.TimeoutError:
            raise AMIError("Asterisk did not answer %s in time" % name) from None
        finally:
            self._pending.pop(action_id, None)
        return (response, events) if _list else response

    async def command(self, text, timeout=10.0):
        """The output of a CLI command run through AMI."""
        response = await self.action("Command", _timeout=timeout, Command=text)
        if response.get("Response") not in ("Success", "Follows"):
            raise AMIError(
                "the command {!r} failed: {}".format(text, response.get("Message"))
            )
        return response.get("Output", "")


def instance_client(folder, **kwargs):
    """An ``AMIClient`` on the private instance in ``folder`` (its instance.json);
    ``kwargs`` as ``AMIClient`` takes them (no events unless asked for)."""
    with open(os.path.join(folder, "instance.json"), encoding="utf-8") as fh:
        account = json.load(fh)["ami"]
    kwargs.setdefault("events", "off")
    return AMIClient(
        account["host"], account["port"], account["user"], account["secret"], **kwargs
    )
