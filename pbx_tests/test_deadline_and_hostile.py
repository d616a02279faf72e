"""A total deadline per PBX call; malformed answers and hostile values never escape as
KeyError / TypeError / ValueError; the event schema's bounds."""
import time

import pytest

from axivox_api import AxivoxError, AxivoxUnavailable, signature
from axivox_api.client import AxivoxClient
from axivox_api.events import (
    EventSchemaError,
    parse_timestamp,
    split_events,
    validate_event,
)


def test_slow_pbx_call_ends_at_its_deadline(sim):
    client = sim.client(timeout=10, deadline=1.0, max_retries=3)
    sim.faults(latency_ms=4000)
    started = time.monotonic()
    with pytest.raises(AxivoxUnavailable) as info:
        client.list_queues()
    elapsed = time.monotonic() - started
    assert info.value.code == "timeout"
    assert (
        elapsed < 3
    ), "the 10 s per-read timeout and the retries are capped by the deadline"


def test_retry_after_beyond_the_deadline_is_not_waited(sim):
    client = sim.client(deadline=2.0, max_retry_after=30)
    sim.faults(rate_limit=3, retry_after=20)
    started = time.monotonic()
    with pytest.raises(AxivoxError):
        client.list_queues()
    assert time.monotonic() - started < 1.5


def test_within_the_deadline_retries_still_happen(sim):
    client = sim.client(deadline=5.0, max_retries=3)
    sim.faults(rate_limit=1, retry_after=0)
    assert sorted(q["id"] for q in client.list_queues()) == [
        "billing",
        "sales",
        "support",
    ]


@pytest.mark.parametrize(
    "body", [{}, {"queues": None}, {"queues": [1]}, {"queues": [{}]}, []]
)
def test_malformed_answers_are_axivox_errors(body):
    with pytest.raises(AxivoxError) as info:
        AxivoxClient._list(body, "queues", ("id",))
    assert info.value.code == "invalid_response"


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-28T10:00:00+24:00",
        "2026-11-28T10:00:00-25:30",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+01:00",
        "٢٠٢٦-11-28T10:00:00Z",
        "2026-02-30T10:00:00Z",
    ],
)
def test_unparseable_timestamps_are_schema_errors(value):
    with pytest.raises(EventSchemaError):
        parse_timestamp(value)


def test_schema_bounds():
    base = {
        "id": "e1",
        "type": "ABANDON",
        "queue_id": "sales",
        "timestamp": "2026-11-28T10:00:00Z",
    }
    bad = [
        dict(base, position=2**31),
        dict(base, caller_number="1" * 256),
        dict(base, call_id="a\x00b"),
        dict(base, id="x" * 65),
        dict(base, queue_id="q" * 65),
        dict(base, extra=float("nan")),
        dict(base, timestamp="2099-01-01T00:00:00Z"),
        dict(base, extra={"k\x00": 1}),
    ]
    valid, rejected = split_events([base] + bad, now=1795860000)
    assert [e["id"] for e in valid] == ["e1"]
    assert len(rejected) == len(bad) and all(reason for _item, reason in rejected)
    assert (
        validate_event(dict(base, position=2**31 - 1), now=1795860000)["position"]
        == 2**31 - 1
    )


@pytest.mark.parametrize(
    "timestamp, sig",
    [
        ("²" * 10, "sha256=" + "0" * 64),
        ("１７９５８６００００", "sha256=" + "0" * 64),
        ("1795860000", "sha256=" + "é" * 64),
        ("1795860000", "sha256=" + "ﬀ" * 32),
    ],
)
def test_hostile_signature_headers_are_signature_errors(timestamp, sig):
    with pytest.raises(signature.SignatureError):
        signature.verify("secret", timestamp, sig, b"{}", now=1795860000)
