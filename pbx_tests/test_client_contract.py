"""Contract tests: AxivoxClient against the running simulator, every endpoint."""
import datetime

import pytest
import requests
from waits import new_events, wait_for

from axivox_api import (
    AxivoxAuthError,
    AxivoxConflict,
    AxivoxNotFound,
    AxivoxValidationError,
    validate_event,
)
from axivox_api.client import AxivoxClient, parse_csv
from axivox_simulator.testing import SimulatorError

DEMO_QUEUES = {
    "sales": (
        "Sales",
        "600",
        "ringall",
        300,
        20,
        "*600",
        "#600",
        ["100"],
        ["101", "102", "103"],
    ),
    "support": (
        "Support",
        "610",
        "leastrecent",
        600,
        25,
        "*610",
        "#610",
        ["104"],
        ["101", "103", "105"],
    ),
    "billing": (
        "Billing",
        "620",
        "rrmemory",
        180,
        15,
        "*620",
        "#620",
        [],
        ["100", "102", "105"],
    ),
}


def connected(client, queue_id):
    return sorted(
        a["extension"] for a in client.list_agents(queue_id) if a["connected"]
    )


def test_ping_and_users(client):
    assert client.ping()["ok"] is True
    users = {u["extension"]: u["name"] for u in client.list_users()}
    assert users == {
        "100": "Mitchell Admin",
        "101": "Marc Demo",
        "102": "Sofia Rossi",
        "103": "Luca Bianchi",
        "104": "Claire Martin",
        "105": "Hugo Bernard",
    }


def test_demo_queues(client):
    queues = {q["id"]: q for q in client.list_queues()}
    assert set(queues) == set(DEMO_QUEUES)
    for queue_id, values in DEMO_QUEUES.items():
        q = queues[queue_id]
        assert (
            q["name"],
            q["extension"],
            q["strategy"],
            q["max_wait_time"],
            q["max_ring_time"],
            q["login_code"],
            q["logout_code"],
            q["static_agents"],
            q["dynamic_agents"],
        ) == values
        assert q["version"] == 1 and q["applied"] is True
    assert client.get_queue("sales") == queues["sales"]


def test_list_agents_all_queues_in_one_call(sim, client):
    sim.clear_requests()
    agents = client.list_agents()
    assert len(sim.requests_log()) == 1
    assert len(agents) == 4 + 4 + 3
    by_key = {(a["queue_id"], a["extension"]): a for a in agents}
    assert (
        by_key[("sales", "100")]["type"] == "static"
        and by_key[("sales", "100")]["connected"]
    )
    assert (
        by_key[("sales", "102")]["connected"]
        and by_key[("sales", "102")]["connected_since"]
    )
    assert not by_key[("sales", "101")]["connected"]
    assert by_key[("support", "105")]["connected"]
    assert connected(client, "billing") == []
    assert connected(client, "sales") == ["100", "102"]
    assert {a["name"] for a in client.list_agents("support")} == {
        "Claire Martin",
        "Marc Demo",
        "Luca Bianchi",
        "Hugo Bernard",
    }


def test_queue_crud_version_and_apply(client):
    created = client.create_queue(
        {
            "name": "After sales",
            "extension": "630",
            "strategy": "linear",
            "max_wait_time": 120,
            "max_ring_time": 10,
            "static_agents": ["104"],
            "dynamic_agents": ["101"],
        }
    )
    assert created["id"] == "after-sales"
    assert created["login_code"] == "*630" and created["logout_code"] == "#630"
    assert created["version"] == 1 and created["applied"] is False
    updated = client.update_queue("after-sales", {"strategy": "fewestcalls"}, version=1)
    assert updated["version"] == 2 and updated["strategy"] == "fewestcalls"
    assert updated["max_wait_time"] == 120  # partial update keeps the other fields
    with pytest.raises(AxivoxConflict) as info:
        client.update_queue("after-sales", {"strategy": "random"}, version=1)
    assert info.value.code == "version_conflict" and info.value.status == 409
    # unchanged data does not bump the version
    assert (
        client.update_queue("after-sales", {"strategy": "fewestcalls"})["version"] == 2
    )
    assert client.apply_changes() == {"applied": 1}
    assert client.get_queue("after-sales")["applied"] is True
    assert client.apply_changes() == {"applied": 0}
    with pytest.raises(AxivoxConflict) as info:
        client.create_queue({"id": "sales", "name": "Sales again", "extension": "699"})
    assert info.value.code == "already_exists"
    client.delete_queue("after-sales")
    with pytest.raises(AxivoxNotFound):
        client.get_queue("after-sales")
    with pytest.raises(AxivoxNotFound):
        client.delete_queue("after-sales")


@pytest.mark.parametrize(
    "data,field",
    [
        ({"name": "X", "extension": "6a0"}, "extension"),
        ({"name": "X", "extension": "600"}, "extension"),  # taken by sales
        ({"name": "X", "extension": "101"}, "extension"),  # a user's extension
        ({"name": "X", "extension": "640", "login_code": "*610"}, "login_code"),
        ({"name": "X", "extension": "640", "logout_code": "102"}, "logout_code"),
        ({"name": "X", "extension": "640", "login_code": "640"}, "logout_code"),
        ({"name": "X", "extension": "640", "strategy": "loudest"}, "strategy"),
        ({"name": "X", "extension": "640", "max_wait_time": 0}, "max_wait_time"),
        ({"name": "X", "extension": "640", "max_wait_time": 86401}, "max_wait_time"),
        ({"name": "X", "extension": "640", "max_ring_time": 3601}, "max_ring_time"),
        ({"name": "X", "extension": "640", "max_ring_time": "20"}, "max_ring_time"),
        ({"name": "X", "extension": "640", "static_agents": ["999"]}, "static_agents"),
        (
            {
                "name": "X",
                "extension": "640",
                "static_agents": ["101"],
                "dynamic_agents": ["101"],
            },
            "dynamic_agents",
        ),
        ({"name": "", "extension": "640"}, "name"),
        ({"extension": "640"}, "name"),
        ({"name": "X", "extension": "640", "colour": "red"}, "colour"),
    ],
)
def test_queue_validation(client, data, field):
    with pytest.raises(AxivoxValidationError) as info:
        client.create_queue(data)
    assert info.value.status == 422 and info.value.field == field
    assert field.split("_")[0] in info.value.message


def test_update_removing_connected_dynamic_agent_emits_removemember(client):
    _, cursor, _ = client.events_since()
    client.update_queue("sales", {"dynamic_agents": ["101", "103"]})
    events = new_events(client, cursor, 1)
    assert [(e["type"], e["agent_extension"]) for e in events] == [
        ("REMOVEMEMBER", "102")
    ]


def test_connect_and_disconnect_agents(client):
    _, cursor, _ = client.events_since()
    agent = client.connect_agent("sales", "101")
    assert (
        agent["connected"] and agent["type"] == "dynamic" and agent["connected_since"]
    )
    assert client.connect_agent("sales", "101")["connected"]  # no-op 200
    assert client.connect_agent("sales", "100")["type"] == "static"  # static: no-op
    agent = client.disconnect_agent("sales", "101")
    assert not agent["connected"] and agent["connected_since"] is None
    assert not client.disconnect_agent("sales", "101")["connected"]  # no-op 200
    with pytest.raises(AxivoxConflict) as info:
        client.disconnect_agent("sales", "100")
    assert info.value.code == "static_agent"
    with pytest.raises(AxivoxNotFound) as info:
        client.connect_agent("sales", "104")
    assert info.value.code == "not_a_member"
    with pytest.raises(AxivoxNotFound):
        client.connect_agent("nope", "101")
    events = new_events(client, cursor, 2)
    assert [
        (e["type"], e["queue_id"], e["agent_extension"], e["member_type"])
        for e in events
    ] == [
        ("ADDMEMBER", "sales", "101", "dynamic"),
        ("REMOVEMEMBER", "sales", "101", "dynamic"),
    ]
    assert events[0]["agent_name"] == "Marc Demo"
    for event in events:
        validate_event(event)


@pytest.mark.parametrize(
    "src,dst,outcome,connected_after,event",
    [
        ("101", "*600", "logged_in", True, "ADDMEMBER"),
        ("102", "*600", "already_logged_in", True, None),
        ("102", "#600", "logged_out", False, "REMOVEMEMBER"),
        ("103", "#600", "already_logged_out", False, None),
        ("100", "*600", "static_agent", True, None),
        ("100", "#600", "static_agent", True, None),
        ("104", "*600", "not_a_member", False, None),
    ],
)
def test_dialing_codes(client, src, dst, outcome, connected_after, event):
    _, cursor, _ = client.events_since()
    call = client.originate(src, dst)
    assert call["outcome"] == outcome and call["queue_id"] == "sales"
    assert call["message"]
    if outcome == "static_agent":
        assert "always connected" in call["message"]
    # The PBX says its message (--announce-seconds 0) and hangs up.
    ended = wait_for(lambda: client.get_call(call["id"])["state"] == "ended")
    assert ended, client.get_call(call["id"])
    assert (src in connected(client, "sales")) is connected_after
    events = new_events(client, cursor, 1 if event else 0)
    assert [e["type"] for e in events] == ([event] if event else [])
    assert client.get_call(call["id"])["outcome"] == outcome


def test_login_code_announcement_then_hangup(sim):
    from axivox_simulator.testing import SimulatorProcess

    with SimulatorProcess(announce_seconds=0.3) as slow:
        c = slow.client()
        call = c.originate("101", "*610")
        assert call["state"] == "answered" and call["outcome"] == "logged_in"
        assert "101" in connected(c, "support")  # connected at once
        import time

        # the PBX hangs up after its 0.3 s message: wait for it, 5 s at most
        deadline = time.monotonic() + 5
        ended = c.get_call(call["id"])
        while ended["state"] != "ended" and time.monotonic() < deadline:
            time.sleep(0.02)
            ended = c.get_call(call["id"])
        assert ended["state"] == "ended" and ended["ended_at"]


def test_ordinary_calls_and_hangup(client):
    internal = client.originate("101", "102")
    # The callee's phone rings (the demo devices of a real PBX answer by themselves).
    assert internal["state"] in ("ringing", "answered")
    assert internal["outcome"] in ("ringing", "answered")
    external = client.originate("101", "+3225550100")
    answered = wait_for(lambda: client.get_call(external["id"])["state"] == "answered")
    assert answered, client.get_call(external["id"])
    hung = client.hangup(external["id"])
    assert hung["state"] == "ended" and hung["ended_at"]
    assert client.get_call(external["id"])["state"] == "ended"
    with pytest.raises(AxivoxNotFound):
        client.originate("999", "*600")
    with pytest.raises(AxivoxNotFound):
        client.get_call("call-nope")
    with pytest.raises(AxivoxNotFound):
        client.hangup("call-nope")
    with pytest.raises(AxivoxValidationError) as info:
        client.originate("101", "call me")
    assert info.value.field == "to"


def test_the_other_end_answers_and_hangs_up(sim, client):
    """The simulator drives an ordinary call's callee; GET /calls/{id} follows the
    state."""
    call = client.originate("101", "102")
    assert client.get_call(call["id"])["state"] == "ringing"
    assert sim.set_call_state(call["id"], "answered")["state"] == "answered"
    assert client.get_call(call["id"])["state"] == "answered"
    ended = sim.set_call_state(call["id"], "ended")
    assert ended["state"] == "ended" and ended["ended_at"]
    assert (
        sim.set_call_state(call["id"], "answered")["state"] == "ended"
    ), "ended stays ended"
    assert client.get_call(call["id"])["state"] == "ended"
    # the simulator's control API refuses: a call back to ringing, an unknown call
    with pytest.raises(SimulatorError, match=r"calls/.* -> 422 "):
        sim.set_call_state(call["id"], "ringing")
    with pytest.raises(SimulatorError, match=r"calls/call-nope -> 404 "):
        sim.set_call_state("call-nope", "ended")


def test_queue_report_filters_pagination_and_csv(sim, client):
    sim.traffic(seed=5, calls=60, start="2026-11-28T08:00:00Z")
    everything = list(client.iter_queue_report("sales", page_size=7))
    sim.clear_requests()
    assert list(client.iter_queue_report("sales", page_size=7)) == everything
    assert len(everything) > 7
    assert len(sim.requests_log()) == -(-len(everything) // 7)  # one request per page
    assert all(e["queue_id"] == "sales" for e in everything)
    assert [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)
    for event in everything:
        validate_event(event)
    connects = list(client.iter_queue_report("sales", types=["CONNECT", "ABANDON"]))
    assert connects and {e["type"] for e in connects} <= {"CONNECT", "ABANDON"}
    assert connects == [e for e in everything if e["type"] in ("CONNECT", "ABANDON")]
    call_id = everything[0]["call_id"]
    one_call = client.queue_report("sales", call_id=call_id)
    assert one_call and {e["call_id"] for e in one_call} == {call_id}
    assert one_call[0]["type"] == "ENTERQUEUE"
    caller = client.queue_report("sales", caller_number=everything[0]["caller_number"])
    assert {e["caller_number"] for e in caller} == {everything[0]["caller_number"]}
    middle = everything[len(everything) // 2]["timestamp"]
    date_from = datetime.datetime.strptime(
        middle, "%Y-%m-%dT%H:%M:%S.%fZ"
    )  # naive = UTC
    later = client.queue_report("sales", date_from=date_from)
    assert later == [e for e in everything if e["timestamp"] >= middle]
    earlier = client.queue_report("sales", date_to=middle)
    assert earlier == [e for e in everything if e["timestamp"] <= middle]
    text = client.queue_report_csv("sales", types=["CONNECT", "ABANDON"])
    assert text.splitlines()[0].startswith("timestamp,type,label,queue_id,call_id")
    rows = parse_csv(text)
    assert [r["id"] for r in rows] == [e["id"] for e in connects]
    assert rows[0]["label"] in (
        "The caller is connected to an agent.",
        "The caller quit",
    )
    with pytest.raises(AxivoxNotFound):
        client.queue_report("nope")
    with pytest.raises(AxivoxValidationError):
        client.queue_report("sales", types=["NOPE"])


def test_event_feed_cursor(sim, client):
    events, cursor, more = client.events_since()
    assert events == [] and not more
    sim.traffic(seed=9, calls=30)
    seen = []
    while True:
        page, cursor, more = client.events_since(cursor, limit=25)
        seen += page
        if not more:
            break
    assert len(seen) == sim.state()["event_count"]
    assert [e["seq"] for e in seen] == sorted({e["seq"] for e in seen})
    assert len({e["id"] for e in seen}) == len(seen)
    page, cursor2, more = client.events_since(cursor)
    assert page == [] and cursor2 == cursor and not more


def test_idempotency_key_replays_post(pbx):
    url = pbx.api_url + "/queues"
    headers = {"Authorization": "Bearer " + pbx.api_key, "Idempotency-Key": "key-1"}
    body = {"name": "Once", "extension": "650"}
    first = requests.post(url, json=body, headers=headers, timeout=5)
    second = requests.post(url, json=body, headers=headers, timeout=5)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    assert [q["id"] for q in pbx.client().list_queues()].count("once") == 1


def test_auth_errors(pbx):
    bad = AxivoxClient(pbx.url, "wrong-key", backoff=0.01)
    with pytest.raises(AxivoxAuthError) as info:
        bad.list_queues()
    assert info.value.status == 401 and "wrong-key" not in str(info.value)
    read_only = AxivoxClient(pbx.url, "read-only-key", backoff=0.01)
    assert read_only.list_queues()
    with pytest.raises(AxivoxAuthError) as info:
        read_only.apply_changes()
    assert info.value.status == 403 and info.value.code == "forbidden"


def test_state_reflects_changes(sim, client):
    before = sim.state()["event_count"]
    client.connect_agent("billing", "100")
    state = sim.state()
    assert {"queue_id": "billing", "extension": "100"}.items() <= state["connections"][
        -1
    ].items()
    assert state["event_count"] == before + 1
    client.disconnect_agent("billing", "100")
    state = sim.state()
    assert ("billing", "100") not in {
        (c["queue_id"], c["extension"]) for c in state["connections"]
    }
    assert state["event_count"] == before + 2
