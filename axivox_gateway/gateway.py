"""The running gateway: the shared API server (``axivox_server.service``) on the
Asterisk PBX model (``asterisk.AsteriskPBX``), with what links it to Asterisk: the AMI
connection (``ami``), the generated configuration (``dialplan``) and the queue_log
it follows (``queue_log``)."""

import asyncio
import datetime
import json
import logging
import os

from . import __version__, dialplan, queue_log
from ._compat import PBXError, iso, utcnow
from ._serving import PBXService
from .ami import AMIClient, AMIError
from .asterisk import AsteriskPBX

_logger = logging.getLogger("axivox_gateway")

# How often the queue_log is looked at (seconds).
TAIL_EVERY = 0.05
# Callers remembered per call (the queue_log names the caller on ENTERQUEUE only).
CALLERS_KEPT = 20000


class Gateway(PBXService):
    """The gateway: a PBX API server whose PBX is an Asterisk."""

    version = __version__
    user_agent = "axivox-gateway"
    # The state holds the feed: written once a second at most (a crash re-reads the
    # queue_log from the position saved with it, and gets the same event ids).
    save_every = 1.0

    def __init__(self, config):
        data = self.read_data(config["data"])
        state = AsteriskPBX(
            data,
            device_template=config["device_template"],
            announce_seconds=config["announce_seconds"],
            max_events=config.get("keep_events", 200000),
        )
        first_run = not (config.get("state") and os.path.exists(config["state"]))
        super().__init__(config, state)
        state.link = self
        # A first start brings the data's connected agents into Asterisk.
        self.initial_logins = sorted(state.connections) if first_run else []
        self.ami = AMIClient(
            config["ami_host"],
            config["ami_port"],
            config["ami_user"],
            config["ami_secret"],
            on_event=self._on_ami_event,
            on_connect=self._on_ami_connect,
        )
        self.reader = queue_log.QueueLogReader(
            config["queue_log"], state.log_state.get("position")
        )
        self.queue_log_error = None
        # The users' SIP passwords: kept here only (not in the state, the API, a log).
        self.sip_passwords = sip_passwords(data, config.get("sip_passwords"))
        self._config_lock = asyncio.Lock()
        self._written = {}

    def tasks(self):
        return [*super().tasks(), self.ami.run(), self.follow_queue_log()]

    async def ping(self):
        if not self.ami.connected:
            raise PBXError(
                503,
                "unavailable",
                "The PBX is temporarily unavailable: Asterisk's manager interface "
                "is not connected (%s)." % self.ami.last_error,
            )
        if self.queue_log_error:
            raise PBXError(
                503,
                "unavailable",
                "The PBX is temporarily unavailable: its queue_log cannot be read "
                "(%s)." % self.queue_log_error,
            )
        return {"ok": True, "version": self.version, "time": iso(utcnow())}

    # ------------------------------------------------------ configuration
    async def write_config(self):
        """Write the queues and their dialplan for Asterisk, and reload what
        changed."""
        state = self.state
        files = {
            "queues.conf": dialplan.queues_conf(
                state.queues.values(), state.device_template
            ),
            "extensions.conf": dialplan.extensions_conf(
                state.queues.values(),
                state.users,
                state.device_template,
                state.announce_seconds,
            ),
        }
        reloads = {
            "queues.conf": "module reload app_queue.so",
            "extensions.conf": "dialplan reload",
            "pjsip.conf": "module reload res_pjsip.so",
        }
        if state.device_template == dialplan.PJSIP_TEMPLATE:
            files["pjsip.conf"] = dialplan.pjsip_conf(state.users, self.sip_passwords)
        async with self._config_lock:
            folder = self.config["config_dir"]
            os.makedirs(folder, exist_ok=True)
            for name, text in files.items():
                if self._written.get(name) == text:
                    continue
                _write(os.path.join(folder, name), text, SECRET_FILES.get(name))
                await self.ami.command(reloads[name])
                self._written[name] = text

    # ---------------------------------------------------------------- AMI
    async def _on_ami_connect(self):
        """After each (re)connection: Asterisk gets the queues again (it may have
        restarted), and the gateway its members."""
        self._written = {}
        await self.write_config()
        for queue_id, ext in self.initial_logins:
            await self.ami.action(
                "QueueAdd",
                Queue=queue_id,
                Interface=self.state.device(ext),
                MemberName=ext,
            )
        self.initial_logins = []
        response, events = await self.ami.action("QueueStatus", _list=True)
        if response.get("Response") != "Success":
            raise AMIError("QueueStatus failed: %s" % response.get("Message"))
        members = {}
        for event in events:
            if event.get("Event") == "QueueMember" and event.get("Membership") in (
                "dynamic",
                "realtime",
            ):
                members[(event.get("Queue"), event.get("Name"))] = _since(event)
        self.state.set_members(members)

    def _on_ami_event(self, message):
        name = message.get("Event")
        if name == "QueueMemberAdded" and message.get("Membership") != "static":
            self.state.member_added(
                message.get("Queue"), message.get("MemberName"), _since(message)
            )
        elif name == "QueueMemberRemoved":
            self.state.member_removed(message.get("Queue"), message.get("MemberName"))
        elif message.get("Uniqueid") in self.state.calls:
            self.state.call_event(message)

    # ---------------------------------------------------------- queue_log
    async def follow_queue_log(self):
        while True:
            try:
                self.read_queue_log()
                self.queue_log_error = None
            except OSError as exc:
                self.queue_log_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(TAIL_EVERY)

    def read_queue_log(self):
        """Turn the queue_log lines written since the last look into events."""
        lines = self.reader.new_lines()
        state, log = self.state, self.state.log_state
        log["position"] = self.reader.position
        if not lines:
            return 0
        events, log["second"], log["seen"] = queue_log.events_of_lines(
            lines, log["second"], log["seen"]
        )
        callers = log["callers"]
        for event in events:
            self._complete(event, callers)
            state.append_event(event)
        while len(callers) > CALLERS_KEPT:
            callers.pop(next(iter(callers)))
        state.dirty = True
        return len(events)

    def _complete(self, event, callers):
        """What the queue_log line does not say: the caller (remembered from the
        call's ENTERQUEUE), the agent's name and whether she is static or dynamic."""
        call_id = event.get("call_id")
        if call_id:
            if event["type"] == "ENTERQUEUE" and event.get("caller_number"):
                callers[call_id] = event["caller_number"]
            else:
                event["caller_number"] = callers.get(call_id)
        ext = event.get("agent_extension")
        if ext:
            user = self.state.users.get(ext)
            event["agent_name"] = user["name"] if user else None
            queue = self.state.queues.get(event["queue_id"])
            static = queue is not None and ext in queue["static_agents"]
            event["member_type"] = "static" if static else "dynamic"


# The generated files that hold secrets, and their mode: readable by their owner (the
# user Asterisk runs as) only.
SECRET_FILES = {"pjsip.conf": 0o600}


def _write(path, text, mode=None):
    """Replace the file at ``path`` by ``text`` at once (a new file, then renamed),
    created with ``mode`` when given (never readable by others, not even for a
    moment)."""
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode or 0o666)
    with open(fd, "w", encoding="utf-8") as fh:
        if mode is not None:
            os.fchmod(fd, mode)  # whatever the umask
        fh.write(text)
    os.replace(tmp, path)


def sip_passwords(data, path=None):
    """``{extension: password}``: the users' ``sip_password`` in the data file, then
    those of the JSON file ``path`` (``{"102": "..."}``, ``--sip-passwords``), which
    win. A password pjsip.conf cannot hold as it is stops the gateway (the message names
    the extension, never the password)."""
    passwords = {}
    for user in data.get("users", []):
        if user.get("sip_password") is not None:
            passwords[str(user["extension"])] = user["sip_password"]
    if path:
        with open(path, encoding="utf-8") as fh:
            extra = json.load(fh)
        if not isinstance(extra, dict):
            raise ValueError(
                "%s: a JSON object {extension: SIP password} is expected" % path
            )
        passwords.update((str(ext), password) for ext, password in extra.items())
    for ext, password in passwords.items():
        if not dialplan.valid_sip_password(password):
            raise ValueError(
                "The SIP password of extension %s cannot be used: 1 to 128 printable "
                'ASCII characters, without spaces nor any of ; \\ " [ ]' % ext
            )
    return passwords


def _since(message):
    """When an AMI member event says the member logged in (else now)."""
    login = message.get("LoginTime")
    if login and login.isdigit() and int(login) > 0:
        return iso(queue_log.EPOCH + datetime.timedelta(seconds=int(login)))
    return iso(utcnow())
