"""WebSocket consumer of the PBX event stream (``/api/v1/events/stream``).

For Odoo servers that cannot receive webhooks: one long-lived connection,
resumed from the last processed cursor after any disconnection. Built on
``websocket-client``.

Messages from the PBX::

    {"type": "event", "cursor": "42", "event": {...}}
    {"type": "heartbeat", "cursor": "42"}

Delivery is at-least-once: the cursor only advances after ``on_events``
returned, so an event whose callback failed is sent again after reconnecting.
"""
import contextlib
import json
import logging
import random
import threading
import time
from urllib.parse import urlencode

import websocket

from .transport import API_PREFIX, normalize_base_url

_logger = logging.getLogger(__name__)

STREAM_PATH = API_PREFIX + "/events/stream"
# The largest stream message read (bytes): a larger one is set aside, not parsed.
MAX_MESSAGE_BYTES = 1 << 20
MAX_CURSOR_CHARS = 64


class EventStreamConsumer:
    """Consume the event stream until :meth:`stop`.

    :param on_events: ``callable(events: list[dict], cursor: str)``; called in
        the thread running :meth:`run`; the cursor advances after it returns.
    :param cursor: resume after this cursor (``None``: from the beginning).
    :param heartbeat: seconds; the server is asked to send a heartbeat this
        often and a ping is sent when nothing arrived for that long; two
        silent periods in a row mean the connection is dead.
    :param timeout: connection (handshake) timeout in seconds.
    :param on_bad_message: ``callable(raw: str, reason: str, cursor: str | None)``:
        a message that cannot be read (not JSON, not an event, too large), with its
        first characters and its cursor when it could be read; the stream goes on
        after it (the cursor advances past it when known). Without it, such a
        message is logged and skipped.
    :param max_message: the largest message read, in bytes.
    """

    def __init__(
        self,
        base_url,
        api_key,
        on_events,
        cursor=None,
        min_backoff=0.5,
        max_backoff=30.0,
        heartbeat=15.0,
        timeout=10.0,
        on_state=None,
        on_bad_message=None,
        max_message=MAX_MESSAGE_BYTES,
    ):
        self.base_url = normalize_base_url(base_url)
        self._api_key = api_key
        self.on_events = on_events
        self.on_state = on_state
        self.cursor = None if cursor in (None, "") else str(cursor)
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.heartbeat = heartbeat
        self.timeout = timeout
        self.on_bad_message = on_bad_message
        self.max_message = max_message
        self._delivery_failed = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ws = None
        self._handshake_ok = False
        self.connected = False
        self.connections = 0  # successful handshakes
        self.last_error = None  # short text of the last failure
        self.last_message_at = None  # time.monotonic() of the last frame

    # ------------------------------------------------------------- control
    def stop(self):
        """Ask :meth:`run` to return (thread-safe, returns immediately)."""
        self._stop.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            # unblocks a recv() in the other thread; best effort
            with contextlib.suppress(Exception):
                ws.abort()

    @property
    def stopped(self):
        return self._stop.is_set()

    def _stream_url(self):
        url = self.base_url.replace("https://", "wss://", 1).replace(
            "http://", "ws://", 1
        )
        params = {"heartbeat": self.heartbeat}
        if self.cursor is not None:
            params["after"] = self.cursor
        return url + STREAM_PATH + "?" + urlencode(params)

    def _set_state(self, connected):
        self.connected = connected
        if self.on_state:
            try:
                self.on_state(connected)
            except Exception:
                _logger.exception("event stream state callback failed")

    def _backoff(self, failures):
        cap = min(self.max_backoff, self.min_backoff * (2 ** min(failures, 16)))
        return random.uniform(cap / 2.0, cap)  # "equal jitter"

    # ----------------------------------------------------------------- run
    def run(self):
        """Connect, consume and reconnect until :meth:`stop` is called."""
        failures = 0
        while not self._stop.is_set():
            self._handshake_ok = False
            self._delivery_failed = False
            try:
                self._run_once()
            except Exception as exc:  # any failure: reconnect later
                self.last_error = f"{type(exc).__name__}: {exc}"
                if not self._stop.is_set():
                    _logger.warning(
                        "PBX event stream interrupted (%s); reconnecting",
                        type(exc).__name__,
                    )
            finally:
                self._set_state(False)
                with self._lock:
                    ws, self._ws = self._ws, None
                if ws is not None:
                    with contextlib.suppress(Exception):
                        ws.close(timeout=0.5)
            # a connection that failed to deliver backs off as one that failed to
            # open: the same message is not tried again every half second
            failures = (
                0 if self._handshake_ok and not self._delivery_failed else failures + 1
            )
            if self._stop.is_set():
                break
            self._stop.wait(self._backoff(max(failures, 0)))

    def _run_once(self):
        ws = websocket.WebSocket(enable_multithread=True)
        with self._lock:
            if self._stop.is_set():
                return
            self._ws = ws
        ws.connect(
            self._stream_url(),
            timeout=self.timeout,
            header=["Authorization: Bearer " + self._api_key],
        )
        self.connections += 1
        self._handshake_ok = True
        self._set_state(True)
        ws.settimeout(self.heartbeat)
        silent = 0
        while not self._stop.is_set():
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                silent += 1
                if silent >= 2:
                    raise ConnectionError(
                        "no data from the PBX for %.1f s" % (2 * self.heartbeat)
                    ) from None
                ws.ping()
                continue
            silent = 0
            self.last_message_at = time.monotonic()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return
            if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                continue
            if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                continue
            self._handle(data)

    def _deliver(self, events, cursor):
        try:
            self.on_events(events, cursor)
        except Exception:
            self._delivery_failed = True
            _logger.exception(
                "PBX event stream: on_events failed; will resume after cursor %s",
                self.cursor,
            )
            raise
        self.cursor = cursor

    def _bad(self, data, reason, cursor=None):
        """Set aside a message that cannot be read; the stream goes on."""
        if isinstance(data, bytes):
            data = data[:400].decode("utf-8", "replace")
        raw = data[:400]
        if self.on_bad_message is None:
            _logger.warning("PBX event stream: skipping a message (%s)", reason)
        else:
            try:
                self.on_bad_message(raw, reason, cursor)
            except Exception:
                self._delivery_failed = True
                _logger.exception("PBX event stream: on_bad_message failed")
                raise
        if cursor is not None:
            self.cursor = cursor

    def _handle(self, data):
        if len(data) > self.max_message:
            self._bad(
                data,
                "message of %d bytes, over the limit of %d bytes"
                % (len(data), self.max_message),
            )
            return
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            self._bad(data, "not JSON")
            return
        if not isinstance(message, dict):
            self._bad(data, "not a JSON object")
            return
        kind = message.get("type")
        if kind == "error":
            raise ConnectionError("PBX stream error: %s" % message.get("message"))
        if kind not in ("event", "events"):
            return  # heartbeats only prove the connection is alive
        cursor = message.get("cursor")
        if isinstance(cursor, int) and not isinstance(cursor, bool):
            cursor = str(cursor)
        if (
            not isinstance(cursor, str)
            or not 0 < len(cursor) <= MAX_CURSOR_CHARS
            or not cursor.isprintable()
        ):
            self._bad(data, "no valid cursor")
            return
        if kind == "event":
            events = [message.get("event")]
            if not isinstance(events[0], dict):
                self._bad(data, "no event object", cursor)
                return
        else:  # batched form, accepted for forward compatibility
            events = message.get("events")
            if not isinstance(events, list):
                self._bad(data, "no list of events", cursor)
                return
        self._deliver(events, cursor)
