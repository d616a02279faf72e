"""The gateway on a real Asterisk: what only a real PBX shows (Asterisk's own CLI and
queue_log, restarts, rotation), and the queue_log's lines turned into events."""

import os

import pytest
from waits import new_events, wait_for

from axivox_gateway import queue_log
from axivox_gateway.testing import AsteriskGateway, asterisk_prefix

# --------------------------------------------------------------- queue_log lines
LINES = {
    "ENTERQUEUE": "1796661088|1796661088.42|sales|NONE|ENTERQUEUE||+3225550000|2",
    "CONNECT": "1796661090|1796661088.42|sales|102|CONNECT|2|1796661088.45|1",
    "COMPLETEAGENT": "1796661150|1796661088.42|sales|102|COMPLETEAGENT|2|60|2",
    "COMPLETECALLER": "1796661150|1796661088.42|sales|102|COMPLETECALLER|2|60|2",
    "ABANDON": "1796661100|1796661088.42|sales|NONE|ABANDON|1|2|12",
    "EXITWITHTIMEOUT": "1796661388|1796661088.42|sales|NONE|EXITWITHTIMEOUT|1|2|300",
    "EXITEMPTY": "1796661089|1796661088.42|sales|NONE|EXITEMPTY|1|1|1",
    "RINGNOANSWER": "1796661108|1796661088.42|sales|103|RINGNOANSWER|19500",
    "RINGCANCELED": "1796661104|1796661088.42|sales|103|RINGCANCELED|4200",
    "BLINDTRANSFER": "1796661150|1796661088.42|sales|102|BLINDTRANSFER|3225|"
    "axivox-agents|2|60|2",
    "ATTENDEDTRANSFER": "1796661150|1796661088.42|sales|102|ATTENDEDTRANSFER|"
    "BRIDGE|b-1|2|60|2",
    "ADDMEMBER": "1796661034|MANAGER|sales|102|ADDMEMBER|",
    "REMOVEMEMBER": "1796661043|1796661040.7|sales|102|REMOVEMEMBER|",
}


@pytest.mark.parametrize("kind", sorted(LINES))
def test_each_type_of_the_report_becomes_its_event(kind):
    event = queue_log.line_event(LINES[kind])
    assert event["type"] == kind and event["queue_id"] == "sales"
    assert event["timestamp"].endswith(".000Z")
    expected = {
        "ENTERQUEUE": {"caller_number": "+3225550000", "position": 2},
        "CONNECT": {"hold_time": 2, "wait_time": 2, "ring_time": 1},
        "COMPLETEAGENT": {"hold_time": 2, "talk_time": 60, "original_position": 2},
        "COMPLETECALLER": {"hold_time": 2, "talk_time": 60, "original_position": 2},
        "ABANDON": {"position": 1, "original_position": 2, "wait_time": 12},
        "EXITWITHTIMEOUT": {"position": 1, "original_position": 2, "wait_time": 300},
        "EXITEMPTY": {"position": 1, "original_position": 1, "wait_time": 1},
        # Asterisk writes these ring times in milliseconds.
        "RINGNOANSWER": {"ring_time": 20, "agent_extension": "103"},
        "RINGCANCELED": {"ring_time": 4, "agent_extension": "103"},
        "BLINDTRANSFER": {"transfer_target": "3225", "hold_time": 2, "talk_time": 60},
        "ATTENDEDTRANSFER": {"transfer_target": "b-1", "hold_time": 2, "talk_time": 60},
        "ADDMEMBER": {"agent_extension": "102", "call_id": None},
        "REMOVEMEMBER": {"agent_extension": "102", "call_id": "1796661040.7"},
    }[kind]
    assert {k: event[k] for k in expected} == expected
    if kind not in ("ADDMEMBER", "REMOVEMEMBER"):
        assert event["call_id"] == "1796661088.42"


def test_other_lines_are_not_events_and_ids_are_stable():
    for line in (
        "1796661021|NONE|NONE|NONE|QUEUESTART|",
        "1796661021|NONE|sales|NONE|CONFIGRELOAD|",
        "1796661021|NONE|sales|102|PAUSE|",
        "garbage",
        "1796661021|half",
    ):
        assert queue_log.line_event(line) is None
    twice = [LINES["ADDMEMBER"], LINES["REMOVEMEMBER"], LINES["ADDMEMBER"]]
    events, _, _ = queue_log.events_of_lines(twice)
    assert len({e["id"] for e in events}) == 3, "identical lines keep their own ids"
    again, _, _ = queue_log.events_of_lines(twice)
    assert [e["id"] for e in again] == [e["id"] for e in events]


def test_the_reader_follows_appends_partial_lines_and_rotation(tmp_path):
    path = tmp_path / "queue_log"
    path.write_text(LINES["ADDMEMBER"] + "\n" + LINES["ENTERQUEUE"][:20])
    reader = queue_log.QueueLogReader(str(path))
    assert reader.new_lines() == [LINES["ADDMEMBER"]], "a partial line waits"
    with open(path, "a") as fh:
        fh.write(LINES["ENTERQUEUE"][20:] + "\n")
    assert reader.new_lines() == [LINES["ENTERQUEUE"]]
    # Rotated: the old file's last lines first, then the new file.
    with open(path, "a") as fh:
        fh.write(LINES["CONNECT"] + "\n")
    os.rename(path, tmp_path / "queue_log.1")
    path.write_text(LINES["ABANDON"] + "\n")
    assert reader.new_lines() == [LINES["CONNECT"], LINES["ABANDON"]]
    resumed = queue_log.QueueLogReader(str(path), reader.position)
    assert resumed.new_lines() == [], "a saved position resumes where it was"


# --------------------------------------------------------------- on Asterisk
needs_asterisk = pytest.mark.skipif(
    not asterisk_prefix() and os.environ.get("CI", "").lower() not in ("1", "true"),
    reason="no Asterisk build (ASTERISK_PREFIX)",
)


@needs_asterisk
def test_queue_changes_take_effect_in_asterisk_keeping_logged_in_agents(
    asterisk_gateway,
):
    pbx = asterisk_gateway
    pbx.reset()
    client = pbx.client()
    assert "Local/102@axivox-phones" in pbx.cli("queue show sales")
    queue = client.get_queue("sales")
    client.update_queue(
        "sales",
        {"strategy": "leastrecent", "max_ring_time": 7, "static_agents": []},
        version=queue["version"],
    )
    shown = pbx.cli("queue show sales")
    assert "'leastrecent' strategy" in shown
    assert "(Local/102@axivox-phones)" in shown, "Sofia stays logged in"
    assert "(Local/100@axivox-phones)" not in shown, "no longer a static agent"
    with open(os.path.join(pbx.asterisk.config_dir, "queues.conf")) as fh:
        assert "timeout = 7" in fh.read()
    created = client.create_queue(
        {"id": "night", "name": "Night", "extension": "650", "static_agents": ["104"]}
    )
    assert "(Local/104@axivox-phones)" in pbx.cli("queue show night")
    with open(os.path.join(pbx.asterisk.config_dir, "extensions.conf")) as fh:
        dialplan = fh.read()
    assert "exten => 650," in dialplan
    # The code's message lasts --announce-seconds (0 in the tests).
    assert " same => n,Wait(0)\n same => n,Hangup()" in dialplan
    client.delete_queue(created["id"])
    assert "No such queue" in pbx.cli("queue show night")
    client.close()


@needs_asterisk
def test_real_callers_time_out_and_ring_unanswered(asterisk_gateway):
    pbx = asterisk_gateway
    pbx.reset()
    client = pbx.client()
    client.create_queue(
        {
            "id": "short",
            "name": "Short",
            "extension": "660",
            "max_wait_time": 3,
            "max_ring_time": 1,
            "dynamic_agents": ["101"],
        }
    )
    client.connect_agent("short", "101")
    _, cursor, _ = client.events_since()
    pbx.set_globals(AXIVOX_NOANSWER=100)
    try:
        pbx.place_callers("660", patience=(20, 20))
        events = wait_for(
            lambda: [
                e
                for e in client.events_since(cursor)[0]
                if e["type"] == "EXITWITHTIMEOUT"
            ],
            timeout=30,
        )
    finally:
        pbx.set_globals(AXIVOX_NOANSWER=0)
    assert events, "the caller left after the queue's maximum waiting time"
    feed = client.events_since(cursor)[0]
    rings = [e for e in feed if e["type"] == "RINGNOANSWER"]
    assert rings and all(e["agent_extension"] == "101" for e in rings)
    # Ring times come in milliseconds: 1 s of ringing is 1, not 1000 (a busy machine
    # may take a little longer).
    assert all(1 <= e["ring_time"] <= 3 for e in rings), rings
    assert 3 <= events[0]["wait_time"] <= 8, events[0]
    enter = [e for e in feed if e["type"] == "ENTERQUEUE"]
    assert enter[0]["call_id"] == events[0]["call_id"] == rings[0]["call_id"]
    assert rings[0]["caller_number"] == enter[0]["caller_number"]
    client.close()


@needs_asterisk
def test_restarts_lose_nothing_and_send_nothing_twice(tmp_path):
    with AsteriskGateway(folder=str(tmp_path)) as pbx:
        client = pbx.client()
        client.connect_agent("sales", "101")
        pbx.settle(client)
        before = client.events_since()[0]
        # The gateway stops; Asterisk goes on and logs a login meanwhile.
        pbx.gateway.stop()
        pbx.cli("queue add member Local/103@axivox-phones to sales penalty 0 as 103")
        pbx.gateway.start()
        pbx.wait_ready()
        client = pbx.client()
        feed = new_events(client, None, len(before) + 1)
        assert [e["id"] for e in feed[: len(before)]] == [e["id"] for e in before]
        assert [(e["type"], e["agent_extension"]) for e in feed[len(before) :]] == [
            ("ADDMEMBER", "103")
        ]
        assert len({e["id"] for e in feed}) == len(feed)
        # Asterisk restarts: /ping says so, then the gateway is back with its
        # members (persistent in Asterisk's astdb).
        pbx.cli("core restart now")
        assert wait_for(lambda: _ping_fails(client), timeout=10)
        pbx.wait_ready(timeout=60)
        connected = {
            a["extension"] for a in client.list_agents("sales") if a["connected"]
        }
        assert {"100", "101", "102", "103"} <= connected
        client.close()


def _ping_fails(client):
    try:
        client.ping()
        return False
    except Exception:
        return True
