"""Signed webhook deliveries to a real HTTP receiver, with retries and faults."""
import socket

from conftest import WEBHOOK_SECRET

from axivox_api import validate_batch


def point(sim, receiver, **settings):
    sim.set_webhook(receiver.url, WEBHOOK_SECRET, **settings)


def test_signed_delivery(sim, client, receiver):
    point(sim, receiver)
    client.connect_agent("sales", "101")
    client.disconnect_agent("sales", "101")
    assert sim.flush()["flushed"]
    events = receiver.accepted_events()
    assert [(e["type"], e["agent_extension"]) for e in events] == [
        ("ADDMEMBER", "101"),
        ("REMOVEMEMBER", "101"),
    ]
    request = receiver.requests[0]
    assert request["signature_ok"] and request["content_type"] == "application/json"
    assert len(request["delivery"]) == 36
    validate_batch({"events": events})
    log = sim.deliveries()
    assert log and all(d["outcome"] == "delivered" and d["status"] == 204 for d in log)


def test_batches_of_at_most_500(sim, receiver):
    point(sim, receiver)
    summary = sim.traffic(seed=2, calls=400)
    assert summary["events"] > 500
    assert sim.flush()["flushed"]
    sizes = [len(r["events"]) for r in receiver.requests]
    assert max(sizes) <= 500 and len(sizes) >= 2
    seqs = [e["seq"] for e in receiver.accepted_events()]
    assert seqs == sorted(seqs) and len(seqs) == summary["events"]


def test_retries_after_failures_with_same_delivery_id(sim, client, receiver):
    point(sim, receiver)
    receiver.fail_with = [500, 503]
    client.connect_agent("sales", "103")
    assert sim.flush()["flushed"]
    assert [r["status"] for r in receiver.requests] == [500, 503, 204]
    assert len({r["delivery"] for r in receiver.requests}) == 1
    assert [(d["attempt"], d["outcome"]) for d in sim.deliveries()] == [
        (1, "retrying"),
        (2, "retrying"),
        (3, "delivered"),
    ]
    assert [e["type"] for e in receiver.accepted_events()] == ["ADDMEMBER"]


def test_4xx_is_not_retried_but_429_is(sim, client, receiver):
    point(sim, receiver)
    receiver.fail_with = [400]
    client.connect_agent("sales", "103")
    assert sim.flush()["flushed"]
    assert [(d["attempt"], d["status"], d["outcome"]) for d in sim.deliveries()] == [
        (1, 400, "failed")
    ]
    receiver.fail_with = [429, 408]
    client.disconnect_agent("sales", "103")
    assert sim.flush()["flushed"]
    assert [d["status"] for d in sim.deliveries()][1:] == [429, 408, 204]


def test_wrong_secret_is_rejected_by_receiver(sim, client, receiver):
    sim.set_webhook(receiver.url, "not-the-secret")
    client.connect_agent("sales", "103")
    assert sim.flush()["flushed"]
    assert [r["signature_ok"] for r in receiver.requests] == [False]
    assert sim.deliveries()[-1]["outcome"] == "failed"
    assert receiver.accepted_events() == []


def test_unreachable_receiver_gives_up_after_max_attempts(sim, client):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = "http://127.0.0.1:%d/hook" % sock.getsockname()[1]
    sock.close()
    sim.set_webhook(url, WEBHOOK_SECRET, max_attempts=3, backoff=0.01)
    client.connect_agent("sales", "103")
    assert sim.flush()["flushed"]
    log = sim.deliveries()
    assert [(d["attempt"], d["outcome"]) for d in log] == [
        (1, "retrying"),
        (2, "retrying"),
        (3, "failed"),
    ]
    assert all(d["status"] is None and d["error"] for d in log)


def test_dropped_deliveries_are_recovered_from_the_feed(sim, client, receiver):
    point(sim, receiver)
    sim.faults(webhook_drop_rate=1.0)
    client.connect_agent("sales", "101")
    assert sim.flush()["flushed"]
    assert receiver.requests == []
    assert [d["outcome"] for d in sim.deliveries()] == ["dropped"]
    events, _, _ = client.events_since()
    assert [e["type"] for e in events] == ["ADDMEMBER"]


def test_duplicates_are_observable_and_dedupable(sim, receiver):
    point(sim, receiver)
    sim.faults(webhook_duplicate_rate=1.0)
    summary = sim.traffic(seed=4, calls=10)
    assert sim.flush()["flushed"]
    deliveries = [r["delivery"] for r in receiver.requests]
    assert len(deliveries) == 2 * len(set(deliveries))
    events = receiver.accepted_events()
    assert len(events) == 2 * summary["events"]
    assert len({e["id"] for e in events}) == summary["events"]
    assert any(d.get("duplicate") for d in sim.deliveries())


def test_reorder(sim, receiver):
    point(sim, receiver, batch_size=5)
    sim.faults(webhook_reorder=True)
    summary = sim.traffic(seed=6, calls=10)
    assert sim.flush()["flushed"]
    seqs = [e["seq"] for e in receiver.accepted_events()]
    assert seqs != sorted(seqs)
    assert sorted(seqs) == list(
        range(int(summary["first_cursor"]), int(summary["last_cursor"]) + 1)
    )


def test_drop_rate_is_deterministic_for_a_seed(sim, receiver):
    point(sim, receiver, batch_size=1)
    outcomes = []
    for _ in range(2):
        sim.faults(webhook_drop_rate=0.5, seed=11)
        sim.control("DELETE", "requests")
        sim.traffic(seed=1, calls=8)
        assert sim.flush()["flushed"]
        outcomes.append([d["outcome"] for d in sim.deliveries()][-40:])
        sim.reset()
        point(sim, receiver, batch_size=1)
    assert (
        outcomes[0] == outcomes[1]
        and "dropped" in outcomes[0]
        and "delivered" in outcomes[0]
    )
