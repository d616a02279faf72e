"""Event schema validation and webhook signature vectors (no server needed)."""
import datetime

import pytest

from axivox_api import events, signature
from axivox_api.events import (
    EventSchemaError,
    parse_timestamp,
    validate_batch,
    validate_event,
)

SECRET = "s3cret"
BODY = b'{"events":[]}'
NOW = 1795860000


def good_event(**over):
    event = {
        "id": "abc-1",
        "seq": 1,
        "type": "CONNECT",
        "queue_id": "sales",
        "timestamp": "2026-11-28T10:00:00.123Z",
        "agent_extension": "101",
        "hold_time": 12,
        "custom": "kept",
    }
    event.update(over)
    return event


def test_event_types_and_labels():
    assert events.EVENT_TYPES == (
        "ABANDON",
        "ADDMEMBER",
        "REMOVEMEMBER",
        "COMPLETEAGENT",
        "COMPLETECALLER",
        "CONNECT",
        "ENTERQUEUE",
        "EXITEMPTY",
        "EXITWITHTIMEOUT",
        "RINGNOANSWER",
        "RINGCANCELED",
        "ATTENDEDTRANSFER",
        "BLINDTRANSFER",
    )
    assert set(events.EVENT_LABELS) == set(events.EVENT_TYPES)
    assert events.EVENT_LABELS["ABANDON"] == "The caller quit"
    assert events.EVENT_LABELS["ADDMEMBER"] == "An agent is connecting"
    assert events.EVENT_LABELS["BLINDTRANSFER"] == "Blind Transfer"


def test_validate_event_normalizes_and_keeps_extra_keys():
    out = validate_event(good_event(timestamp="2026-11-28T11:00:00.1234+01:00"))
    assert out["timestamp"] == "2026-11-28T10:00:00.123Z"
    assert out["custom"] == "kept"
    assert out["talk_time"] is None and out["transfer_target"] is None


@pytest.mark.parametrize(
    "over,reason",
    [
        ({"id": None}, "field 'id' is required"),
        ({"id": "x" * 65}, "field 'id' must be at most 64"),
        ({"type": "HANGUP"}, "field 'type' must be one of"),
        ({"queue_id": ""}, "field 'queue_id' is required"),
        ({"timestamp": "2026-11-28 10:00"}, "field 'timestamp' is invalid"),
        ({"timestamp": "2026-11-28T10:00:00"}, "field 'timestamp' is invalid"),
        ({"hold_time": -1}, "field 'hold_time' must be a non-negative integer"),
        ({"hold_time": 1.5}, "field 'hold_time' must be a non-negative integer"),
        ({"position": True}, "field 'position' must be a non-negative integer"),
        ({"agent_extension": None}, "field 'agent_extension' is required for CONNECT"),
        ({"member_type": "temp"}, "field 'member_type'"),
        ({"call_id": 12}, "field 'call_id' must be a string"),
    ],
)
def test_validate_event_errors(over, reason):
    with pytest.raises(EventSchemaError) as info:
        validate_event(good_event(**over))
    assert reason in str(info.value)


def test_validate_batch():
    assert len(validate_batch(good_event())) == 1
    batch = validate_batch(
        {
            "events": [
                good_event(),
                good_event(id="abc-2", type="ENTERQUEUE", agent_extension=None),
            ]
        }
    )
    assert [e["id"] for e in batch] == ["abc-1", "abc-2"]
    with pytest.raises(EventSchemaError) as info:
        validate_batch(
            {
                "events": [
                    good_event(),
                    good_event(),
                    good_event(),
                    good_event(type="NOPE"),
                ]
            }
        )
    assert str(info.value).startswith("event 3: field 'type' must be one of")
    with pytest.raises(EventSchemaError):
        validate_batch([good_event()])
    with pytest.raises(EventSchemaError):
        validate_batch({"events": "nope"})


def test_parse_timestamp():
    dt = parse_timestamp("2026-11-28T10:00:00.123Z")
    assert dt == datetime.datetime(
        2026, 11, 28, 10, 0, 0, 123000, tzinfo=datetime.timezone.utc
    )
    assert parse_timestamp("2026-11-28T12:00:00+02:00") == parse_timestamp(
        "2026-11-28T10:00:00Z"
    )
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


def test_signature_known_vector():
    # printf '1795860000.{"events":[]}' | openssl dgst -sha256 -hmac s3cret
    assert signature.sign(SECRET, NOW, BODY) == (
        "sha256=c57bd265a61cbb1386ca5b1c75abefa3a17aa7dda4408183c902afc469a724a0"
    )
    headers = signature.signed_headers(SECRET, BODY, now=NOW, delivery_id="d-1")
    assert headers[signature.TIMESTAMP_HEADER] == str(NOW)
    assert headers[signature.DELIVERY_HEADER] == "d-1"
    assert headers["Content-Type"] == "application/json"
    assert (
        signature.verify(
            SECRET, str(NOW), headers[signature.SIGNATURE_HEADER], BODY, now=NOW
        )
        == NOW
    )


def _verify(ts=str(NOW), sig=None, body=BODY, secret=SECRET, now=NOW):
    sig = signature.sign(SECRET, NOW, BODY) if sig is None else sig
    return signature.verify(secret, ts, sig, body, tolerance=300, now=now)


@pytest.mark.parametrize(
    "kwargs,reason",
    [
        ({"secret": "wrong"}, "mismatch"),
        ({"body": BODY + b" "}, "mismatch"),
        ({"body": b'{"events":[{}]}'}, "mismatch"),
        ({"now": NOW + 301}, "stale"),
        ({"now": NOW - 301}, "future"),
        ({"ts": None}, "missing_header"),
        ({"sig": ""}, "missing_header"),
        ({"ts": "yesterday"}, "malformed"),
        ({"sig": "md5=abc"}, "malformed"),
        ({"ts": str(NOW + 1)}, "mismatch"),  # timestamp is covered by the signature
    ],
)
def test_signature_rejections(kwargs, reason):
    with pytest.raises(signature.SignatureError) as info:
        _verify(**kwargs)
    assert info.value.reason == reason


def test_signature_accepts_tolerance_edges_and_rotation():
    assert _verify(now=NOW + 300) == NOW
    assert _verify(now=NOW - 300) == NOW
    rotated = "sha256=" + "0" * 64 + ", " + signature.sign(SECRET, NOW, BODY)
    assert _verify(sig=rotated) == NOW
