"""Webhook signatures.

The PBX signs each webhook request::

    X-Axivox-Timestamp: 1795860000                 (unix seconds)
    X-Axivox-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    X-Axivox-Delivery:  <uuid of the delivery, repeated on retries>

The receiver recomputes the HMAC over the raw body bytes, compares it in
constant time and rejects timestamps outside a tolerance window (replays).
Several signatures separated by commas are accepted (secret rotation).
"""
import hashlib
import hmac
import time
import uuid

TIMESTAMP_HEADER = "X-Axivox-Timestamp"
SIGNATURE_HEADER = "X-Axivox-Signature"
DELIVERY_HEADER = "X-Axivox-Delivery"
SCHEME = "sha256"
DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    """The webhook signature is missing, malformed, wrong or out of date.

    ``reason`` is one of: missing_header, malformed, mismatch, stale, future.
    """

    def __init__(self, message, reason):
        super().__init__(message)
        self.reason = reason


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def sign(secret, timestamp, body):
    """Return ``"sha256=<hex>"`` for ``body`` (bytes) sent at ``timestamp``."""
    message = str(int(timestamp)).encode("ascii") + b"." + _to_bytes(body)
    digest = hmac.new(_to_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify(
    secret,
    timestamp_header,
    signature_header,
    body,
    tolerance=DEFAULT_TOLERANCE,
    now=None,
):
    """Check a webhook request; return the timestamp (int) or raise SignatureError."""
    if not secret:
        raise SignatureError("No webhook secret is configured.", "missing_header")
    if not timestamp_header:
        raise SignatureError(
            "The %s header is missing." % TIMESTAMP_HEADER, "missing_header"
        )
    if not signature_header:
        raise SignatureError(
            "The %s header is missing." % SIGNATURE_HEADER, "missing_header"
        )
    timestamp_header = timestamp_header.strip()
    # ASCII digits only: str.isdigit() accepts other scripts' digits and superscripts.
    if (
        not (timestamp_header.isascii() and timestamp_header.isdigit())
        or len(timestamp_header) > 12
    ):
        raise SignatureError(
            "The %s header is not a unix timestamp." % TIMESTAMP_HEADER, "malformed"
        )
    timestamp = int(timestamp_header)
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise SignatureError(
            "The webhook timestamp is too old (possible replay).", "stale"
        )
    if timestamp > now + tolerance:
        raise SignatureError("The webhook timestamp is in the future.", "future")
    candidates = []
    for part in signature_header.split(","):
        scheme, _, value = part.strip().partition("=")
        value = value.lower()
        if (
            scheme == SCHEME
            and len(value) == 64
            and value.isascii()
            and all(c in "0123456789abcdef" for c in value)
        ):
            candidates.append(value)
    if not candidates:
        raise SignatureError(
            "The %s header is malformed." % SIGNATURE_HEADER, "malformed"
        )
    expected = sign(secret, timestamp, body).partition("=")[2]
    ok = False
    for candidate in candidates:
        # compare every candidate (no early exit) in constant time
        ok = hmac.compare_digest(expected, candidate) or ok
    if not ok:
        raise SignatureError("The webhook signature does not match.", "mismatch")
    return timestamp


def signed_headers(secret, body, now=None, delivery_id=None):
    """Headers to send with ``body``: timestamp, signature, delivery id, JSON type."""
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id or str(uuid.uuid4()),
    }
