"""aiohttp application of the PBX simulator: REST API, WebSocket stream,
signed webhook deliveries, fault injection and the ``/_sim`` control API."""
import asyncio
import collections
import csv
import hmac
import io
import json
import logging
import os
import random
import time
import uuid

import aiohttp
from aiohttp import web

from . import __version__, traffic
from ._compat import events as ev
from ._compat import signature
from .state import PBXError, PBXState, invalid, iso, utcnow

_logger = logging.getLogger("axivox_simulator")

PREFIX = "/api/v1"
SIM_PREFIX = PREFIX + "/_sim"
MAX_LIMIT = 5000
DEFAULT_FAULTS = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "rate_limit": 0,
    "retry_after": 1,
    "webhook_drop_rate": 0.0,
    "webhook_duplicate_rate": 0.0,
    "webhook_reorder": False,
    "ws_close_after": 0,
    "error_paths": [],
    "feed_stuck": False,
}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def json_response(obj, status=200, headers=None):
    return web.Response(
        body=dumps(obj).encode("utf-8"),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def error_response(exc):
    return json_response(exc.body(), status=exc.status, headers=exc.headers)


class Simulator:
    """Everything the server holds besides the PBX model itself."""

    def __init__(self, config):
        self.config = config
        self.initial_data = self._read_data(config["data"])
        self.state = PBXState(
            self.initial_data, announce_seconds=config["announce_seconds"]
        )
        state_file = config.get("state")
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as fh:
                self.state.restore(json.load(fh))
            _logger.info("state restored from %s", state_file)
        self.state.listeners.append(self._on_event)
        self.changed = asyncio.Event()
        self.webhook_wakeup = asyncio.Event()
        self.idempotency = collections.OrderedDict()
        self._reset_runtime()

    @staticmethod
    def _read_data(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def _reset_runtime(self):
        cfg = self.config
        self.faults = dict(DEFAULT_FAULTS)
        self.rng = random.Random(cfg["seed"])
        self.webhook = {
            "url": cfg.get("webhook_url") or None,
            "secret": cfg.get("webhook_secret") or "",
            "max_attempts": cfg["webhook_attempts"],
            "backoff": cfg["webhook_backoff"],
            "timeout": cfg["webhook_timeout"],
            "batch_size": 500,
        }
        self.pending = collections.deque()
        self.inflight = 0
        self.deliveries = collections.deque(maxlen=5000)
        self.requests = collections.deque(maxlen=5000)
        self.idempotency.clear()
        self.generation = getattr(self, "generation", 0) + 1

    def reset(self, data=None):
        self.state.load_data(data if data is not None else self.initial_data)
        self._reset_runtime()
        self._notify()

    # -------------------------------------------------------------- events
    def _on_event(self, event):
        if self.webhook["url"]:
            self.pending.append(event)
            self.webhook_wakeup.set()
        self._notify()

    def _notify(self):
        old, self.changed = self.changed, asyncio.Event()
        old.set()

    # ------------------------------------------------------------ webhooks
    def log_delivery(self, **entry):
        entry.setdefault("at", iso(utcnow()))
        self.deliveries.append(entry)

    async def webhook_worker(self):
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await self.webhook_wakeup.wait()
                await asyncio.sleep(0.05)  # batching window
                self.webhook_wakeup.clear()
                while self.pending:
                    size = max(1, int(self.webhook["batch_size"]))
                    batches = []
                    while self.pending:
                        batches.append(
                            [
                                self.pending.popleft()
                                for _ in range(min(size, len(self.pending)))
                            ]
                        )
                    if self.faults["webhook_reorder"]:
                        batches = [list(reversed(b)) for b in reversed(batches)]
                    self.inflight += 1
                    try:
                        for batch in batches:
                            await self._deliver(session, batch)
                    except Exception:  # never let the worker die
                        _logger.exception("webhook delivery crashed")
                    finally:
                        self.inflight -= 1

    async def _deliver(self, session, batch):
        generation = self.generation
        hook = dict(self.webhook)
        delivery_id = str(uuid.uuid4())
        seqs = [e["seq"] for e in batch]
        base = {
            "delivery_id": delivery_id,
            "event_count": len(batch),
            "seqs": seqs,
            "url": hook["url"],
        }
        if not hook["url"]:
            return
        if self.rng.random() < self.faults["webhook_drop_rate"]:
            self.log_delivery(
                attempt=0, status=None, error=None, outcome="dropped", **base
            )
            return
        duplicate = self.rng.random() < self.faults["webhook_duplicate_rate"]
        body = dumps({"events": batch}).encode("utf-8")
        ok = await self._send(session, hook, body, base, generation)
        if ok and duplicate and generation == self.generation:
            await self._send(
                session, hook, body, dict(base, duplicate=True), generation, attempts=1
            )

    async def _send(self, session, hook, body, base, generation, attempts=None):
        attempts = attempts or max(1, int(hook["max_attempts"]))
        for attempt in range(1, attempts + 1):
            if generation != self.generation:  # reset meanwhile: abandon
                return False
            headers = signature.signed_headers(
                hook["secret"], body, delivery_id=base["delivery_id"]
            )
            headers["User-Agent"] = "axivox-simulator/%s" % __version__
            start = time.monotonic()
            status, error = None, None
            try:
                async with session.post(
                    hook["url"],
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=hook["timeout"]),
                ) as resp:
                    status = resp.status
                    await resp.read()
            except Exception as exc:
                error = "%s: %s" % (type(exc).__name__, exc)
            duration = int((time.monotonic() - start) * 1000)
            if status is not None and 200 <= status < 300:
                self.log_delivery(
                    attempt=attempt,
                    status=status,
                    error=None,
                    outcome="delivered",
                    duration_ms=duration,
                    **base,
                )
                return True
            retryable = status is None or status >= 500 or status in (408, 429)
            last = attempt == attempts or not retryable
            self.log_delivery(
                attempt=attempt,
                status=status,
                error=error,
                outcome="failed" if last else "retrying",
                duration_ms=duration,
                **base,
            )
            if last:
                return False
            await asyncio.sleep(hook["backoff"] * (2 ** (attempt - 1)))
        return False

    async def flush(self, timeout):
        deadline = time.monotonic() + timeout
        while self.pending or self.inflight or self.webhook_wakeup.is_set():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # --------------------------------------------------------- persistence
    def save(self):
        path = self.config.get("state")
        if not path or not self.state.dirty:
            return
        self.state.dirty = False
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.state.snapshot(), fh)
        os.replace(tmp, path)

    async def saver(self):
        while True:
            await asyncio.sleep(0.2)
            try:
                self.save()
            except OSError:
                _logger.exception("could not save the state")


# ------------------------------------------------------------------ helpers
async def read_json(request, default=None):
    raw = await request.read()
    if not raw.strip():
        if default is not None:
            return default
        raise PBXError(400, "malformed_json", "The request body must be JSON.")
    try:
        return json.loads(raw)
    except ValueError:
        raise PBXError(400, "malformed_json", "The request body is not valid JSON.")


async def read_object(request, default=None):
    data = await read_json(request, default)
    if not isinstance(data, dict):
        raise PBXError(
            422, "validation_error", "The request body must be a JSON object."
        )
    return data


def parse_int(value, field, low, high, default):
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(field, "Parameter '%s' must be a whole number." % field)
    if not low <= number <= high:
        raise invalid(
            field, "Parameter '%s' must be between %d and %d." % (field, low, high)
        )
    return number


def parse_cursor(value, field):
    if value in (None, ""):
        return 0
    if not str(value).isdigit():
        raise invalid(
            field, "Parameter '%s' is not a cursor returned by this API." % field
        )
    return int(value)


def parse_time(value, field):
    if value in (None, ""):
        return None
    try:
        return ev.parse_timestamp(value)
    except ValueError:
        raise invalid(
            field,
            "Parameter '%s' must be an ISO 8601 date-time with a time zone, "
            "e.g. 2026-11-28T10:00:00Z." % field,
        )


def parse_types(value):
    if not value:
        return None
    types = [t.strip().upper() for t in value.split(",") if t.strip()]
    unknown = [t for t in types if t not in ev.EVENT_TYPES]
    if unknown:
        raise invalid(
            "types",
            "Parameter 'types': unknown event type(s) %s; expected some of %s."
            % (", ".join(unknown), ", ".join(ev.EVENT_TYPES)),
        )
    return set(types)


def parse_if_match(value):
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise invalid(
            "If-Match", 'The If-Match header must be the queue version, e.g. "3".'
        )
    return int(text)


# --------------------------------------------------------------- middleware
@web.middleware
async def api_middleware(request, handler):
    sim = request.app["sim"]
    path = request.path
    is_sim = path.startswith(SIM_PREFIX)
    entry = None
    if path.startswith(PREFIX) and not is_sim:
        entry = {
            "method": request.method,
            "path": path,
            "status": None,
            "fault": None,
            "replayed": False,
            "at": iso(utcnow()),
        }
        sim.requests.append(entry)
    try:
        if path.startswith(PREFIX):
            _authenticate(sim, request, control=is_sim)
        if entry is not None:
            fault = await _inject_fault(sim, path)
            if fault is not None:
                entry["fault"] = fault.code
                raise fault
        key = request.headers.get("Idempotency-Key")
        cache_key = None
        if key and request.method == "POST" and entry is not None:
            cached = sim.idempotency.get(key)
            if cached is not None:
                if cached[0] != (request.method, path):
                    raise PBXError(
                        422,
                        "idempotency_key_reused",
                        "This Idempotency-Key was already used for another request.",
                        field="Idempotency-Key",
                    )
                entry["replayed"] = True
                entry["status"] = cached[1]
                return web.Response(
                    status=cached[1],
                    body=cached[2],
                    content_type="application/json",
                    charset="utf-8",
                    headers={"Idempotent-Replayed": "true"},
                )
            cache_key = key
        response = await handler(request)
        if (
            cache_key
            and response.status < 500
            and isinstance(response, web.Response)
            and not isinstance(response, web.WebSocketResponse)
        ):
            sim.idempotency[cache_key] = (
                (request.method, path),
                response.status,
                response.body,
            )
            while len(sim.idempotency) > 10000:
                sim.idempotency.popitem(last=False)
    except PBXError as exc:
        response = error_response(exc)
    except web.HTTPNotFound:
        response = error_response(
            PBXError(404, "not_found", "There is no such API endpoint.")
        )
    except web.HTTPMethodNotAllowed:
        response = error_response(
            PBXError(
                405,
                "method_not_allowed",
                "This method is not allowed on this endpoint.",
            )
        )
    except web.HTTPException:
        raise
    except Exception:
        _logger.exception("internal error on %s %s", request.method, path)
        response = error_response(
            PBXError(500, "internal_error", "The PBX had an internal error.")
        )
    if entry is not None and entry["status"] is None:
        entry["status"] = response.status
    return response


def _authenticate(sim, request, control):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    cfg = sim.config
    if scheme.lower() != "bearer" or not token:
        raise PBXError(
            401,
            "unauthorized",
            "Missing API key: send 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if hmac.compare_digest(token.encode(), cfg["api_key"].encode()):
        return
    read_only = cfg.get("read_only_key")
    if read_only and hmac.compare_digest(token.encode(), read_only.encode()):
        if control or request.method not in ("GET", "HEAD"):
            raise PBXError(403, "forbidden", "This API key is read-only.")
        return
    raise PBXError(
        401,
        "unauthorized",
        "The API key is not valid.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _inject_fault(sim, path=""):
    faults = sim.faults
    if faults["latency_ms"]:
        await asyncio.sleep(faults["latency_ms"] / 1000.0)
    if faults["rate_limit"] > 0:
        faults["rate_limit"] -= 1
        retry_after = faults["retry_after"]
        text = (
            str(int(retry_after))
            if float(retry_after).is_integer()
            else str(retry_after)
        )
        return PBXError(
            429,
            "rate_limited",
            "Too many requests; retry after %s seconds." % text,
            headers={"Retry-After": text},
        )
    if faults["error_rate"] and sim.rng.random() < faults["error_rate"]:
        return PBXError(503, "unavailable", "The PBX is temporarily unavailable.")
    if any(part in path for part in faults["error_paths"]):
        return PBXError(503, "unavailable", "The PBX is temporarily unavailable.")
    return None


# ----------------------------------------------------------------- handlers
routes = web.RouteTableDef()


def sim_of(request):
    return request.app["sim"]


@routes.get(PREFIX + "/ping")
async def ping(request):
    return json_response({"ok": True, "version": __version__, "time": iso(utcnow())})


@routes.get(PREFIX + "/queues")
async def list_queues(request):
    state = sim_of(request).state
    return json_response({"queues": [state.queues[k] for k in sorted(state.queues)]})


@routes.post(PREFIX + "/queues")
async def create_queue(request):
    queue = sim_of(request).state.create_queue(await read_object(request))
    return json_response(
        {"queue": queue},
        status=201,
        headers={
            "Location": "%s/queues/%s" % (PREFIX, queue["id"]),
            "ETag": '"%d"' % queue["version"],
        },
    )


@routes.get(PREFIX + "/queues/{queue_id}")
async def get_queue(request):
    queue = sim_of(request).state.get_queue(request.match_info["queue_id"])
    return json_response({"queue": queue}, headers={"ETag": '"%d"' % queue["version"]})


@routes.put(PREFIX + "/queues/{queue_id}")
async def update_queue(request):
    if_match = parse_if_match(request.headers.get("If-Match"))
    data = await read_object(request)
    queue = sim_of(request).state.update_queue(
        request.match_info["queue_id"], data, if_match
    )
    return json_response({"queue": queue}, headers={"ETag": '"%d"' % queue["version"]})


@routes.delete(PREFIX + "/queues/{queue_id}")
async def delete_queue(request):
    sim_of(request).state.delete_queue(request.match_info["queue_id"])
    return web.Response(status=204)


@routes.post(PREFIX + "/apply")
async def apply_changes(request):
    await read_object(request, default={})
    return json_response({"applied": sim_of(request).state.apply()})


@routes.get(PREFIX + "/users")
async def list_users(request):
    state = sim_of(request).state
    return json_response({"users": [state.users[k] for k in sorted(state.users)]})


@routes.get(PREFIX + "/agents")
async def list_agents(request):
    queue_id = request.query.get("queue_id") or None
    return json_response({"agents": sim_of(request).state.list_agents(queue_id)})


@routes.post(PREFIX + "/queues/{queue_id}/agents/{extension}/connect")
async def connect_agent(request):
    agent, _ = sim_of(request).state.connect_agent(
        request.match_info["queue_id"], request.match_info["extension"]
    )
    return json_response({"agent": agent})


@routes.post(PREFIX + "/queues/{queue_id}/agents/{extension}/disconnect")
async def disconnect_agent(request):
    agent, _ = sim_of(request).state.disconnect_agent(
        request.match_info["queue_id"], request.match_info["extension"]
    )
    return json_response({"agent": agent})


@routes.post(PREFIX + "/calls")
async def originate(request):
    call = sim_of(request).state.originate(await read_object(request))
    return json_response(
        {"call": call},
        status=201,
        headers={"Location": "%s/calls/%s" % (PREFIX, call["id"])},
    )


@routes.get(PREFIX + "/calls/{call_id}")
async def get_call(request):
    return json_response(
        {"call": sim_of(request).state.get_call(request.match_info["call_id"])}
    )


@routes.delete(PREFIX + "/calls/{call_id}")
async def hangup(request):
    return json_response(
        {"call": sim_of(request).state.hangup(request.match_info["call_id"])}
    )


def _report_filters(request):
    q = request.query
    return dict(
        date_from=parse_time(q.get("from"), "from"),
        date_to=parse_time(q.get("to"), "to"),
        types=parse_types(q.get("types")),
        call_id=q.get("call_id") or None,
        caller_number=q.get("caller_number") or None,
    )


@routes.get(PREFIX + "/queues/{queue_id}/events")
async def queue_events(request):
    state = sim_of(request).state
    queue_id = request.match_info["queue_id"]
    state.get_queue(queue_id)
    filters = _report_filters(request)
    after = parse_cursor(request.query.get("cursor"), "cursor")
    limit = parse_int(request.query.get("limit"), "limit", 1, MAX_LIMIT, 500)
    page, more = [], False
    for event in state.query_events(queue_id, after=after, **filters):
        if len(page) == limit:
            more = True
            break
        page.append(event)
    next_cursor = str(page[-1]["seq"]) if more else None
    return json_response({"events": page, "next_cursor": next_cursor})


CSV_COLUMNS = (
    "timestamp",
    "type",
    "label",
    "queue_id",
    "call_id",
    "caller_number",
    "agent_extension",
    "agent_name",
    "member_type",
    "position",
    "original_position",
    "wait_time",
    "hold_time",
    "talk_time",
    "ring_time",
    "transfer_target",
    "id",
    "seq",
)


@routes.get(PREFIX + "/queues/{queue_id}/events.csv")
async def queue_events_csv(request):
    state = sim_of(request).state
    queue_id = request.match_info["queue_id"]
    state.get_queue(queue_id)
    filters = _report_filters(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in state.query_events(queue_id, **filters):
        row = dict(event, label=ev.EVENT_LABELS[event["type"]])
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="queue-%s-report.csv"'
            % queue_id
        },
    )


@routes.get(PREFIX + "/events")
async def event_feed(request):
    state = sim_of(request).state
    after = parse_cursor(request.query.get("after"), "after")
    limit = parse_int(request.query.get("limit"), "limit", 1, MAX_LIMIT, 1000)
    page, more = state.events_after(after, limit)
    next_cursor = str(page[-1]["seq"]) if page else str(after)
    if sim_of(request).faults["feed_stuck"] and page:
        # A faulty PBX: the same page for ever, its cursor never moving.
        next_cursor, more = str(after), True
    return json_response({"events": page, "next_cursor": next_cursor, "has_more": more})


@routes.get(PREFIX + "/events/stream")
async def event_stream(request):
    sim = sim_of(request)
    cursor = parse_cursor(request.query.get("after"), "after")
    try:
        heartbeat = min(60.0, max(0.1, float(request.query.get("heartbeat") or 15)))
    except ValueError:
        raise invalid("heartbeat", "Parameter 'heartbeat' must be a number of seconds.")
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    reader = asyncio.ensure_future(_drain(ws))
    sent = 0
    close_after = int(sim.faults["ws_close_after"] or 0)
    try:
        while not ws.closed and not reader.done():
            changed = sim.changed
            page, _ = sim.state.events_after(cursor, 500)
            for event in page:
                await ws.send_str(
                    dumps(
                        {"type": "event", "cursor": str(event["seq"]), "event": event}
                    )
                )
                cursor = event["seq"]
                sent += 1
                if close_after and sent >= close_after:
                    await ws.close(code=1012, message=b"simulated disconnection")
                    return ws
            if page:
                continue
            waiter = asyncio.ensure_future(changed.wait())
            done, _ = await asyncio.wait(
                {waiter, reader}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            if not done and not ws.closed:
                await ws.send_str(dumps({"type": "heartbeat", "cursor": str(cursor)}))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        reader.cancel()
        if not ws.closed:
            await ws.close()
    return ws


async def _drain(ws):
    async for _msg in ws:  # answers pings, notices the close frame
        pass


# ------------------------------------------------------------- control API
@routes.post(SIM_PREFIX + "/reset")
async def sim_reset(request):
    data = await read_object(request, default={})
    sim_of(request).reset(data.get("data"))
    return json_response({"ok": True})


@routes.get(SIM_PREFIX + "/state")
async def sim_state(request):
    sim = sim_of(request)
    snap = sim.state.snapshot()
    snap.pop("events")
    snap["calls"] = [sim.state.get_call(c["id"]) for c in snap["calls"]]
    snap.update(
        event_count=len(sim.state.events),
        faults=sim.faults,
        webhook={
            "url": sim.webhook["url"],
            "pending": len(sim.pending),
            "inflight": sim.inflight,
            "batch_size": sim.webhook["batch_size"],
            "max_attempts": sim.webhook["max_attempts"],
            "backoff": sim.webhook["backoff"],
        },
    )
    return json_response(snap)


@routes.post(SIM_PREFIX + "/traffic")
async def sim_traffic(request):
    sim = sim_of(request)
    data = await read_object(request, default={})
    seed = data.get("seed", sim.config["seed"])
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise invalid("seed", "Field 'seed' must be an integer.")
    calls = data.get("calls", 20)
    if (
        isinstance(calls, bool)
        or not isinstance(calls, int)
        or not 0 <= calls <= 100000
    ):
        raise invalid("calls", "Field 'calls' must be an integer between 0 and 100000.")
    queue_ids = data.get("queue_ids")
    if queue_ids is not None and (
        not isinstance(queue_ids, list)
        or not all(isinstance(q, str) for q in queue_ids)
    ):
        raise invalid(
            "queue_ids", "Field 'queue_ids' must be a list of queue ids or null."
        )
    start = parse_time(data.get("start"), "start")
    summary = traffic.run(sim.state, seed, calls, queue_ids, start)
    return json_response(summary)


@routes.post(SIM_PREFIX + "/calls/{call_id}")
async def sim_call_state(request):
    data = await read_object(request)
    call = sim_of(request).state.set_call_state(
        request.match_info["call_id"], data.get("state")
    )
    return json_response({"call": call})


@routes.get(SIM_PREFIX + "/faults")
async def sim_get_faults(request):
    return json_response(sim_of(request).faults)


@routes.post(SIM_PREFIX + "/faults")
async def sim_faults(request):
    sim = sim_of(request)
    data = await read_object(request, default={})
    faults = dict(DEFAULT_FAULTS)
    for key, value in data.items():
        if key == "seed":
            continue
        if key not in DEFAULT_FAULTS:
            raise invalid(key, "Unknown fault '%s'." % key)
        default = DEFAULT_FAULTS[key]
        if isinstance(default, list):
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v for v in value
            ):
                raise invalid(
                    key, "Fault '%s' must be a list of non-empty strings." % key
                )
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise invalid(key, "Fault '%s' must be true or false." % key)
        elif (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
        ):
            raise invalid(key, "Fault '%s' must be a non-negative number." % key)
        elif key.endswith("_rate") and value > 1:
            raise invalid(key, "Fault '%s' must be between 0 and 1." % key)
        faults[key] = value
    sim.faults = faults
    sim.rng = random.Random(data.get("seed", sim.config["seed"]))
    return json_response(faults)


@routes.post(SIM_PREFIX + "/events")
async def sim_raw_events(request):
    """Append events to the feed as they are given (even malformed ones)."""
    sim = sim_of(request)
    data = await read_object(request)
    events = data.get("events")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise invalid("events", "Field 'events' must be a list of objects.")
    return json_response({"events": [sim.state.emit_raw(e) for e in events]})


@routes.get(SIM_PREFIX + "/deliveries")
async def sim_deliveries(request):
    return json_response({"deliveries": list(sim_of(request).deliveries)})


@routes.post(SIM_PREFIX + "/webhook")
async def sim_webhook(request):
    sim = sim_of(request)
    data = await read_object(request)
    for key in data:
        if key not in (
            "url",
            "secret",
            "max_attempts",
            "backoff",
            "timeout",
            "batch_size",
        ):
            raise invalid(key, "Unknown webhook setting '%s'." % key)
    if (
        "url" in data
        and data["url"] is not None
        and not str(data["url"]).startswith(("http://", "https://"))
    ):
        raise invalid("url", "Field 'url' must be an http(s) URL or null.")
    sim.webhook.update(data)
    return json_response({k: v for k, v in sim.webhook.items() if k != "secret"})


@routes.post(SIM_PREFIX + "/flush")
async def sim_flush(request):
    sim = sim_of(request)
    data = await read_object(request, default={})
    done = await sim.flush(float(data.get("timeout", 30)))
    return json_response(
        {"flushed": done, "pending": len(sim.pending), "inflight": sim.inflight},
        status=200 if done else 504,
    )


@routes.get(SIM_PREFIX + "/requests")
async def sim_requests(request):
    return json_response({"requests": list(sim_of(request).requests)})


@routes.delete(SIM_PREFIX + "/requests")
async def sim_clear_requests(request):
    sim_of(request).requests.clear()
    return web.Response(status=204)


# ---------------------------------------------------------------------- app
def build_app(config):
    app = web.Application(middlewares=[api_middleware], client_max_size=8 * 1024 * 1024)
    app.add_routes(routes)

    async def on_startup(app):
        sim = Simulator(config)
        app["sim"] = sim
        app["tasks"] = [
            asyncio.ensure_future(sim.webhook_worker()),
            asyncio.ensure_future(sim.saver()),
        ]

    async def on_cleanup(app):
        for task in app["tasks"]:
            task.cancel()
        await asyncio.gather(*app["tasks"], return_exceptions=True)
        try:
            app["sim"].save()
        except OSError:
            _logger.exception("could not save the state")

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
