"""Queue event schema (Asterisk queue_log events) and its validation.

An event is a JSON object::

    {"id": "a1b2c3d4-0000000042", "seq": 42, "type": "CONNECT",
     "queue_id": "sales", "timestamp": "2026-11-28T10:00:00.123Z",
     "call_id": "...", "caller_number": "+3225550123",
     "agent_extension": "101", "agent_name": "Marc Demo",
     "member_type": "dynamic", "position": 1, "original_position": 2,
     "wait_time": 12, "hold_time": 12, "talk_time": null, "ring_time": 4,
     "transfer_target": null}

Durations are whole seconds. Unknown extra keys are allowed and kept.
"""
import datetime
import math
import re
import time

# The 13 event types and their English labels (as worded in the Axivox queue
# report), in the report's order.
EVENT_LABELS = {
    "ABANDON": "The caller quit",
    "ADDMEMBER": "An agent is connecting",
    "REMOVEMEMBER": "An agent is disconnecting",
    "COMPLETEAGENT": "The call was terminated (agent hangs up)",
    "COMPLETECALLER": "The call was terminated (caller hangs up)",
    "CONNECT": "The caller is connected to an agent.",
    "ENTERQUEUE": "Someone is entering the queue",
    "EXITEMPTY": "The caller exits the queue (no agent is connected)",
    "EXITWITHTIMEOUT": "The caller exits the queue (timeout)",
    "RINGNOANSWER": "No one is answering",
    "RINGCANCELED": "No one is answering, the caller hangs up",
    "ATTENDEDTRANSFER": "Transfer",
    "BLINDTRANSFER": "Blind Transfer",
}
EVENT_TYPES = tuple(EVENT_LABELS)

# Event types that always concern one agent.
AGENT_EVENT_TYPES = frozenset(
    (
        "ADDMEMBER",
        "REMOVEMEMBER",
        "CONNECT",
        "COMPLETEAGENT",
        "COMPLETECALLER",
        "RINGNOANSWER",
    )
)

MEMBER_TYPES = ("static", "dynamic")

STRING_FIELDS = (
    "call_id",
    "caller_number",
    "agent_extension",
    "agent_name",
    "transfer_target",
)
INT_FIELDS = (
    "position",
    "original_position",
    "wait_time",
    "hold_time",
    "talk_time",
    "ring_time",
)
# Every documented field, in a stable order (used for CSV columns, etc.).
EVENT_FIELDS = (
    ("id", "seq", "type", "queue_id", "timestamp")
    + STRING_FIELDS[:4]
    + ("member_type",)
    + INT_FIELDS
    + ("transfer_target",)
)
_DOCUMENTED = frozenset(EVENT_FIELDS)

MAX_ID_LENGTH = 64
# Strings are stored in indexed columns: a bound keeps every value indexable.
MAX_STRING_LENGTH = 255
# Integers are stored in PostgreSQL ``integer`` columns.
MAX_INT = 2**31 - 1
# An event dated further ahead than this (PBX clock drift allowance) is refused: it
# would make every later event of its agent look older.
MAX_FUTURE_SECONDS = 300
# Unknown extra keys are kept (as JSON): bounded nesting, no NUL, finite numbers.
MAX_DEPTH = 16


class EventSchemaError(ValueError):
    """An event does not follow the documented schema."""


_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})$"
)

# 2026-11-28T10:00:00.123Z
_CANONICAL_TS_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z"
)


def parse_timestamp(value):
    """Parse an ISO 8601 timestamp carrying a zone (``Z`` or ``+hh:mm``).

    Returns an aware ``datetime`` in UTC. Raises :class:`EventSchemaError`
    (a ``ValueError``) for anything else, including naive timestamps.
    Works the same on Python 3.8+ (does not rely on ``fromisoformat``).
    """
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise EventSchemaError(f"timestamp {value!r} has no time zone")
        return value.astimezone(datetime.timezone.utc)
    if not isinstance(value, str):
        raise EventSchemaError(
            "timestamp must be a string, not %s" % type(value).__name__
        )
    if _CANONICAL_TS_RE.match(value):
        # The form the PBX (and format_timestamp) writes: read by the C parser.
        try:
            return datetime.datetime.fromisoformat(value[:-1]).replace(
                tzinfo=datetime.timezone.utc
            )
        except ValueError as exc:
            raise EventSchemaError(
                f"timestamp {value[:40]!r} is not a valid date: {exc}"
            ) from exc
    m = _TS_RE.match(value.strip()) if value.isascii() else None
    if not m:
        raise EventSchemaError(
            f"timestamp {value[:40]!r} is not an ISO 8601 date-time with a time zone"
        )
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if zone in ("Z", "z"):
        tz = datetime.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise EventSchemaError(
                f"timestamp {value[:40]!r} has an invalid time zone offset"
            )
        tz = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
    try:
        dt = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
        return dt.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise EventSchemaError(
            f"timestamp {value[:40]!r} is not a valid date: {exc}"
        ) from exc


def odoo_datetime(value):
    """A PBX timestamp (or an aware datetime) as Odoo stores it: naive UTC, whole
    seconds.

    The one conversion from the PBX's time to an Odoo ``Datetime`` field; ``None`` and
    ``""`` give ``False``.
    """
    if not value:
        return False
    return parse_timestamp(value).replace(tzinfo=None, microsecond=0)


def format_timestamp(dt):
    """Format an aware datetime (or naive UTC) as ``2026-11-28T10:00:00.123Z``."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_value(value, depth=0):
    """The reason ``value`` (an unknown extra key's value) cannot be stored, or None."""
    if depth > MAX_DEPTH:
        return "is nested more than %d levels deep" % MAX_DEPTH
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        return None if _is_unicode(value) else "is not valid Unicode text"
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    if isinstance(value, dict):
        for key, item in value.items():
            reason = _check_value(key, depth + 1) or _check_value(item, depth + 1)
            if reason:
                return reason
    elif isinstance(value, list):
        for item in value:
            reason = _check_value(item, depth + 1)
            if reason:
                return reason
    return None


def _text_problem(value, max_length, not_a_string):
    """What is wrong with the string ``value``, or None (``not_a_string`` when it is
    not one)."""
    if not isinstance(value, str):
        return not_a_string
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if "\x00" in value:
        return "must not contain a NUL character"
    if not _is_unicode(value):
        return "must be valid Unicode text (a lone surrogate is not)"
    return None


def _is_unicode(text):
    """Whether ``text`` can be stored: JSON's \\ud800 escapes read into lone
    surrogates, which no UTF-8 text (nor PostgreSQL) holds."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _id_problem(value):
    """What is wrong with an event's ``id`` or ``queue_id``, or None."""
    return _text_problem(value, MAX_ID_LENGTH, "must be a string")


def _string_problem(value):
    """What is wrong with an optional string field, or None."""
    if value is None or (
        isinstance(value, str)
        and value.isascii()
        and len(value) <= MAX_STRING_LENGTH
        and "\x00" not in value
    ):
        return None  # the usual case, in one step
    return _text_problem(value, MAX_STRING_LENGTH, "must be a string or null")


def _int_problem(value):
    """What is wrong with an optional integer field, or None."""
    if value is not None and (not _is_int(value) or not 0 <= value <= MAX_INT):
        return f"must be a non-negative integer (at most {MAX_INT}) or null"
    return None


def _check_fields(obj, out, fields, problem_of, fail):
    """Check ``fields`` of ``obj`` with ``problem_of`` (``fail`` on the first problem)
    and copy them to ``out`` (None when missing)."""
    for field in fields:
        value = obj.get(field)
        if value is not None:
            problem = problem_of(value)
            if problem:
                fail(field, problem)
        out[field] = value


def _event_moment(value, now):
    """``(moment, None)`` for a valid event time, ``(None, what is wrong)``
    otherwise."""
    try:
        moment = parse_timestamp(value)
    except EventSchemaError as exc:
        return None, f"is invalid: {exc}"
    if moment.year < 1971:
        return None, "is before 1971"
    now = time.time() if now is None else now
    if moment.timestamp() > now + MAX_FUTURE_SECONDS:
        return None, f"is more than {MAX_FUTURE_SECONDS} seconds in the future"
    return moment, None


def validate_event(obj, index=None, now=None):
    """Validate one event and return a normalized copy.

    The copy has every documented field (missing optional ones set to None)
    and a canonical UTC millisecond timestamp; unknown keys are kept.
    Raises :class:`EventSchemaError` naming the event and the field.

    ``now`` (epoch seconds, default the current time): an event dated more than
    ``MAX_FUTURE_SECONDS`` after it is refused.
    """
    where = "event" if index is None else "event %d" % index
    if not isinstance(obj, dict):
        raise EventSchemaError(
            f"{where}: must be a JSON object, not {type(obj).__name__}"
        )

    def fail(field, reason):
        raise EventSchemaError(f"{where}: field '{field}' {reason}")

    out = dict(obj)
    for field in ("id", "type", "queue_id", "timestamp"):
        if obj.get(field) in (None, ""):
            fail(field, "is required")
    for field in ("id", "queue_id"):
        problem = _id_problem(obj[field])
        if problem:
            fail(field, problem)
    if obj["type"] not in EVENT_TYPES:
        fail(
            "type",
            "must be one of {} (got {!r})".format(
                ", ".join(EVENT_TYPES), str(obj["type"])[:40]
            ),
        )
    moment, problem = _event_moment(obj["timestamp"], now)
    if problem:
        fail("timestamp", problem)
    timestamp = obj["timestamp"]
    if not (isinstance(timestamp, str) and _CANONICAL_TS_RE.match(timestamp)):
        out["timestamp"] = format_timestamp(moment)  # else it is already
    seq = obj.get("seq")
    if seq is not None and (not _is_int(seq) or not 0 <= seq < 2**63):
        fail("seq", "must be a non-negative integer")
    out["seq"] = seq
    _check_fields(obj, out, STRING_FIELDS, _string_problem, fail)
    member_type = obj.get("member_type")
    if member_type is not None and member_type not in MEMBER_TYPES:
        fail("member_type", "must be 'static', 'dynamic' or null")
    out["member_type"] = member_type
    _check_fields(obj, out, INT_FIELDS, _int_problem, fail)
    if obj["type"] in AGENT_EVENT_TYPES and not out["agent_extension"]:
        fail("agent_extension", "is required for %s events" % obj["type"])
    for key, value in obj.items():
        if key in _DOCUMENTED:
            continue  # checked above, each by its own rule
        reason = _check_value(key) or _check_value(value)
        if reason:
            fail(str(key)[:40], reason)
    return out


def batch_items(obj):
    """The raw events of a webhook payload: one event object or ``{"events": [...]}``.
    Raises :class:`EventSchemaError` when the payload itself is not of that shape."""
    if isinstance(obj, dict) and "events" in obj and "type" not in obj:
        events = obj["events"]
        if not isinstance(events, list):
            raise EventSchemaError("batch: field 'events' must be a list")
        return events
    if isinstance(obj, dict):
        return [obj]
    raise EventSchemaError(
        'batch: must be an event object or {"events": [...]}, not %s'
        % type(obj).__name__
    )


def split_events(items, now=None):
    """Validate each of ``items`` apart: ``(valid, rejected)``, where ``valid`` holds
    the normalized events and ``rejected`` ``(raw item, reason)`` pairs, in their
    order."""
    now = time.time() if now is None else now
    valid, rejected = [], []
    for index, item in enumerate(items):
        try:
            valid.append(validate_event(item, index=index, now=now))
        except EventSchemaError as exc:
            rejected.append((item, str(exc)))
    return valid, rejected


def validate_batch(obj):
    """Validate a webhook payload: one event object or ``{"events": [...]}``.

    Returns the list of normalized events. Every event is validated before
    anything is returned; the first invalid one raises with its index.
    """
    if isinstance(obj, dict) and "events" in obj and "type" not in obj:
        events = obj["events"]
        if not isinstance(events, list):
            raise EventSchemaError("batch: field 'events' must be a list")
        return [validate_event(event, index=i) for i, event in enumerate(events)]
    if isinstance(obj, dict):
        return [validate_event(obj)]
    raise EventSchemaError(
        'batch: must be an event object or {"events": [...]}, not %s'
        % type(obj).__name__
    )
