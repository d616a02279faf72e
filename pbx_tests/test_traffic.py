"""Deterministic traffic generation and queue strategy / limit semantics."""
import collections

from axivox_api import parse_timestamp, validate_event

START = "2026-11-28T08:00:00Z"
VOLATILE = ("id", "seq")


def run(sim, client, start=START, **kwargs):
    summary = sim.traffic(start=start, **kwargs)
    events, cursor, more = [], None, True
    while more:
        page, cursor, more = client.events_since(cursor, limit=5000)
        events += page
    return summary, events


def stable(events):
    return [{k: v for k, v in e.items() if k not in VOLATILE} for e in events]


def by_call(events):
    calls = collections.OrderedDict()
    for e in events:
        calls.setdefault(e["call_id"], []).append(e)
    return calls


def test_same_seed_same_traffic(sim, client):
    summary1, first = run(sim, client, seed=21, calls=80)
    sim.reset()
    summary2, second = run(sim, client, seed=21, calls=80)
    assert stable(first) == stable(second)
    assert summary1["by_type"] == summary2["by_type"]
    sim.reset()
    _, other = run(sim, client, seed=22, calls=80)
    assert stable(other) != stable(first)


def test_summary_and_schema(sim, client):
    summary, events = run(sim, client, seed=3, calls=200)
    assert summary["events"] == len(events) == sum(summary["by_type"].values())
    assert summary["by_type"]["ENTERQUEUE"] == 200
    for event in events:
        validate_event(event)
    assert events[0]["timestamp"] >= "2026-11-28T08:00:00.000Z"
    times = [e["timestamp"] for e in events]
    assert times == sorted(times)
    for call in by_call(events).values():
        assert call[0]["type"] == "ENTERQUEUE"
        assert call[-1]["type"] in (
            "ABANDON",
            "EXITEMPTY",
            "EXITWITHTIMEOUT",
            "COMPLETEAGENT",
            "COMPLETECALLER",
            "ATTENDEDTRANSFER",
            "BLINDTRANSFER",
        )
    seen = {t for t, n in summary["by_type"].items() if n}
    assert seen >= {
        "ENTERQUEUE",
        "CONNECT",
        "COMPLETEAGENT",
        "COMPLETECALLER",
        "ABANDON",
        "EXITEMPTY",
        "RINGNOANSWER",
        "RINGCANCELED",
        "ATTENDEDTRANSFER",
        "BLINDTRANSFER",
    }


def test_exitempty_when_nobody_is_connected(sim, client):
    summary, events = run(sim, client, seed=5, calls=15, queue_ids=["billing"])
    assert summary["by_type"]["ENTERQUEUE"] == summary["by_type"]["EXITEMPTY"] == 15
    assert {e["type"] for e in events} == {"ENTERQUEUE", "EXITEMPTY"}


def test_ringnoanswer_after_max_ring_time(sim, client):
    client.update_queue("support", {"max_ring_time": 7, "max_wait_time": 3600})
    _, events = run(sim, client, seed=9, calls=60, queue_ids=["support"])
    rings = [e for e in events if e["type"] == "RINGNOANSWER"]
    assert rings and all(e["ring_time"] == 7 for e in rings)
    for call in by_call(events).values():
        enter = parse_timestamp(call[0]["timestamp"])
        for e in call:
            if e["type"] == "RINGNOANSWER":
                assert (parse_timestamp(e["timestamp"]) - enter).total_seconds() >= 7
    # leastrecent / single agent strategies ring one agent at a time
    stamps = collections.Counter((e["call_id"], e["timestamp"]) for e in rings)
    assert max(stamps.values()) == 1


def test_ringall_rings_every_free_agent(sim, client):
    client.connect_agent("sales", "101")
    client.connect_agent("sales", "103")
    _, events = run(sim, client, seed=4, calls=60, queue_ids=["sales"])
    rings = [e for e in events if e["type"] == "RINGNOANSWER"]
    stamps = collections.Counter((e["call_id"], e["timestamp"]) for e in rings)
    assert rings and max(stamps.values()) > 1


def test_exitwithtimeout_at_max_wait_time(sim, client):
    client.update_queue("sales", {"max_wait_time": 4, "max_ring_time": 30})
    _, events = run(sim, client, seed=2, calls=40, queue_ids=["sales"])
    timeouts = [e for e in events if e["type"] == "EXITWITHTIMEOUT"]
    assert timeouts and all(e["wait_time"] == 4 for e in timeouts)
    assert not [e for e in events if e["type"] in ("ABANDON", "RINGNOANSWER")]


def test_linear_tries_the_first_listed_agent_first(sim, client):
    firsts = []
    for seed in range(6):
        sim.reset()
        client.update_queue("billing", {"strategy": "linear"})
        for ext in ("105", "102", "100"):
            client.connect_agent("billing", ext)
        _, events = run(sim, client, seed=seed, calls=1, queue_ids=["billing"])
        tried = [
            e["agent_extension"]
            for e in events
            if e["type"] in ("RINGNOANSWER", "CONNECT", "RINGCANCELED")
        ]
        if tried:
            firsts.append(tried[0])
            # then the following agents, in list order
            order = ["100", "102", "105"]
            assert tried[:3] == order[: len(tried[:3])]
    assert firsts and set(firsts) == {"100"}


def test_rrmemory_rotates(sim, client):
    for ext in ("100", "102", "105"):
        client.connect_agent("billing", ext)
    _, events = run(sim, client, seed=6, calls=30, queue_ids=["billing"])
    agents = [
        e["agent_extension"] for e in events if e["type"] in ("CONNECT", "RINGNOANSWER")
    ]
    assert set(agents) == {"100", "102", "105"}


def test_traffic_validation(sim):
    import requests

    response = requests.post(
        sim.api_url + "/_sim/traffic",
        json={"calls": -1},
        headers={"Authorization": "Bearer " + sim.api_key},
        timeout=5,
    )
    assert response.status_code == 422 and response.json()["error"]["field"] == "calls"
    response = requests.post(
        sim.api_url + "/_sim/traffic",
        json={"queue_ids": ["nope"]},
        headers={"Authorization": "Bearer " + sim.api_key},
        timeout=5,
    )
    assert response.status_code == 404


def test_traffic_is_never_dated_in_the_future(sim, client):
    """Calls started a minute ago would end up to half an hour from now: the PBX
    reports them as already played, every event dated now or before, their
    spacing kept."""
    import datetime
    import time

    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
        minutes=1
    )
    summary, events = run(sim, client, started.isoformat(), seed=31, calls=12)
    after = time.time()
    moments = [parse_timestamp(e["timestamp"]).timestamp() for e in events]
    assert events and max(moments) <= after
    assert max(moments) > after - 60  # moved just enough, not further
    sim.reset()
    _, past = run(sim, client, seed=31, calls=12)
    spans = [parse_timestamp(e["timestamp"]).timestamp() for e in past]
    # the same calls, later: the same gaps (to the millisecond the timestamps keep)
    assert len(moments) == len(spans)
    pairs = zip(moments, spans, strict=True)
    assert max(abs(a - moments[0] - (b - spans[0])) for a, b in pairs) < 0.0025
    assert [e["type"] for e in events] == [e["type"] for e in past]
