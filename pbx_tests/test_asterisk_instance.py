"""A private Asterisk instance (axivox_gateway.instance) against a real Asterisk build.

Needs ASTERISK_PREFIX: the build that ``bash scripts/setup_asterisk.sh`` makes (it
prints the line to export). Without it these tests are skipped.
"""
import os
import socket
import time
from pathlib import Path

import pytest

from axivox_gateway.instance import AsteriskInstance

PREFIX = os.environ.get("ASTERISK_PREFIX")

pytestmark = pytest.mark.skipif(
    not PREFIX,
    reason="no Asterisk build: run `bash scripts/setup_asterisk.sh` and export the "
    "ASTERISK_PREFIX it prints",
)


class Ami:
    """The manager interface over a raw socket: just enough for these tests."""

    def __init__(self, account):
        self.sock = socket.create_connection((account.host, account.port), timeout=10)
        self.buffer = b""
        banner = self._read_until(b"\r\n")
        assert banner.startswith(b"Asterisk Call Manager/"), banner
        self.events = []
        reply = self.action("Login", Username=account.user, Secret=account.secret)
        assert reply.get("Response") == "Success", reply

    def _read_until(self, end):
        while end not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed the connection")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(end, 1)
        return head

    def read_message(self):
        message = {}
        for line in self._read_until(b"\r\n\r\n").decode().split("\r\n"):
            key, _, value = line.partition(": ")
            message.setdefault(key, value)
        return message

    def action(self, name, **fields):
        action_id = f"t{time.monotonic_ns()}"
        lines = ["Action: " + name, "ActionID: " + action_id]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            message = self.read_message()
            if message.get("ActionID") == action_id and "Response" in message:
                return message
            self.events.append(message)

    def wait_event(self, name, timeout=15, **match):
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("Event") == name and all(
                    event.get(k) == v for k, v in match.items()
                ):
                    self.events.remove(event)
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} event {match} within {timeout}s")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                self.events.append(self.read_message())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


def wait_for(check, timeout=15, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.2)


def processes_using(path):
    """Pids of the processes whose command line mentions path."""
    found = []
    needle = str(path).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def websocket_upgrade(port):
    """The status line of Asterisk's answer to a SIP WebSocket handshake on /ws."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
        )
        return sock.recv(4096).decode("latin-1")


QUEUES = "[q1]\nstrategy = ringall\ntimeout = 5\nretry = 1\n"
AGENT_CODES = """\
[axivox-queues]
exten => 600,1,Queue(q1)
 same => n,Hangup()

[axivox-agents]
exten => *700,1,AddQueueMember(q1,Local/101@axivox-phones,,,101)
 same => n,Hangup()
"""


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    instance = AsteriskInstance(PREFIX, tmp_path_factory.mktemp("asterisk"))
    with instance:
        yield instance
    assert not instance.running()


def test_starts_with_the_gateway_files_and_logs(pbx):
    assert pbx.start_seconds is not None
    assert (pbx.config_dir / "queues.conf").is_file()
    assert "[axivox-agents]" in (pbx.config_dir / "extensions.conf").read_text()
    assert "Asterisk has fully booted" in pbx.cli("core waitfullybooted")
    assert "axivox-phones" in pbx.cli("dialplan show axivox-phones")
    assert "app_queue.so" in pbx.cli("module show like app_queue")
    if pbx.sip:
        assert "transport-ws" in pbx.cli("pjsip show transports")
        assert websocket_upgrade(pbx.http_port).startswith("HTTP/1.1 101 ")
    errors = [
        line
        for line in pbx.messages_log_path.read_text().splitlines()
        if " ERROR[" in line
    ]
    assert not errors, "\n".join(errors)


def test_agent_code_adds_a_member_seen_by_queue_show_and_queue_log(pbx):
    (pbx.config_dir / "queues.conf").write_text(QUEUES)
    (pbx.config_dir / "extensions.conf").write_text(AGENT_CODES)
    pbx.cli("module reload app_queue.so")
    pbx.cli("dialplan reload")
    assert "q1 has 0 calls" in pbx.cli("queue show q1")
    assert "*700" in pbx.cli("dialplan show axivox-agents")

    ami = Ami(pbx.ami)
    try:
        reply = ami.action(
            "Originate",
            Channel="Local/*700@axivox-agents",
            Application="Wait",
            Data="1",
            Async="true",
        )
        assert reply["Response"] == "Success", reply
        added = ami.wait_event("QueueMemberAdded", Queue="q1")
        assert added["MemberName"] == "101"
    finally:
        ami.close()
    assert "Local/101@axivox-phones" in wait_for(
        lambda: "Local/101" in pbx.cli("queue show q1") and pbx.cli("queue show q1"),
        what="the member in queue show",
    )
    line = wait_for(
        lambda: pbx.queue_log_path.exists()
        and [
            row
            for row in pbx.queue_log_path.read_text().splitlines()
            if "|q1|" in row and "|ADDMEMBER|" in row
        ],
        what="ADDMEMBER in the queue_log",
    )
    assert "|101|ADDMEMBER|" in line[0]


def test_caller_reaches_the_demo_agent_who_answers_by_itself(pbx):
    ami = Ami(pbx.ami)
    try:
        reply = ami.action(
            "Originate",
            Channel="Local/600@axivox-external",
            Application="Wait",
            Data="10",
            Variable="__AXIVOX_TALK=1",
            Async="true",
        )
        assert reply["Response"] == "Success", reply
        ami.wait_event("AgentConnect", Queue="q1", timeout=20)
        ami.wait_event("AgentComplete", Queue="q1", timeout=20)
    finally:
        ami.close()
    events = [row.split("|")[4] for row in pbx.queue_log_path.read_text().splitlines()]
    assert {"ENTERQUEUE", "CONNECT", "COMPLETEAGENT"} <= set(events)


def test_stop_leaves_no_process(tmp_path):
    pbx = AsteriskInstance(PREFIX, tmp_path / "pbx", sip=False)
    pbx.start()
    pid = pbx.pid
    assert processes_using(pbx.asterisk_conf) == [pid]
    assert "pjsip" not in pbx.cli("module show like pjsip").split("\n", 1)[1]
    pbx.stop()
    assert not pbx.running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert processes_using(pbx.asterisk_conf) == []
