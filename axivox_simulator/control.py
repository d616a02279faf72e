"""The simulator's control API (``/api/v1/_sim``), for tests and demos: reset, state,
traffic, call states, faults, raw events, webhook settings and deliveries, flush, the
request log."""

import random

from aiohttp import web

from . import traffic
from ._compat import invalid
from ._serving import httpkit
from ._serving import service as _service

DEFAULT_FAULTS = _service.DEFAULT_FAULTS
SIM_PREFIX = httpkit.SIM_PREFIX
json_response, parse_time = httpkit.json_response, httpkit.parse_time
read_object, sim_of = httpkit.read_object, httpkit.pbx_of

routes = web.RouteTableDef()


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
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
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
