"""The PBX's REST API (queues, agents, calls, the queue report and its CSV, the event
feed) and its WebSocket event stream, on whatever PBX model the server holds: a model's
method may answer at once (the simulator) or be a coroutine (a real PBX behind it)."""

import asyncio
import contextlib
import csv
import inspect
import io

from aiohttp import web

from ._compat import events as ev
from .errors import invalid
from .httpkit import (
    MAX_LIMIT,
    PREFIX,
    dumps,
    json_response,
    parse_cursor,
    parse_if_match,
    parse_int,
    parse_time,
    parse_types,
    pbx_of,
    read_object,
)

# ----------------------------------------------------------------- handlers
routes = web.RouteTableDef()


async def done(value):
    """``value``, awaited when the PBX model answered with a coroutine."""
    return await value if inspect.isawaitable(value) else value


def state_of(request):
    return pbx_of(request).state


@routes.get(PREFIX + "/ping")
async def ping(request):
    return json_response(await pbx_of(request).ping())


def _by_key(mapping):
    """The values of ``mapping``, in the order of their keys."""
    return [mapping[key] for key in sorted(mapping)]


@routes.get(PREFIX + "/queues")
async def list_queues(request):
    return json_response({"queues": _by_key(state_of(request).queues)})


def _created(kind, obj, **headers):
    """The 201 answer for a new queue or call, with its URL in ``Location``."""
    location = "{}/{}s/{}".format(PREFIX, kind, obj["id"])
    return json_response(
        {kind: obj}, status=201, headers=dict(Location=location, **headers)
    )


@routes.post(PREFIX + "/queues")
async def create_queue(request):
    queue = await done(state_of(request).create_queue(await read_object(request)))
    return _created("queue", queue, ETag='"%d"' % queue["version"])


@routes.get(PREFIX + "/queues/{queue_id}")
async def get_queue(request):
    queue = await done(state_of(request).get_queue(request.match_info["queue_id"]))
    return json_response({"queue": queue}, headers={"ETag": '"%d"' % queue["version"]})


@routes.put(PREFIX + "/queues/{queue_id}")
async def update_queue(request):
    if_match = parse_if_match(request.headers.get("If-Match"))
    data = await read_object(request)
    queue = await done(
        state_of(request).update_queue(request.match_info["queue_id"], data, if_match)
    )
    return json_response({"queue": queue}, headers={"ETag": '"%d"' % queue["version"]})


@routes.delete(PREFIX + "/queues/{queue_id}")
async def delete_queue(request):
    await done(state_of(request).delete_queue(request.match_info["queue_id"]))
    return web.Response(status=204)


@routes.post(PREFIX + "/apply")
async def apply_changes(request):
    await read_object(request, default={})
    return json_response({"applied": await done(state_of(request).apply())})


@routes.get(PREFIX + "/users")
async def list_users(request):
    return json_response({"users": _by_key(await done(state_of(request).list_users()))})


@routes.get(PREFIX + "/agents")
async def list_agents(request):
    queue_id = request.query.get("queue_id") or None
    agents = await done(state_of(request).list_agents(queue_id))
    return json_response({"agents": agents})


async def _agent_answer(request, change):
    """Apply ``change`` (connect or disconnect) to the agent the URL names."""
    agent, _ = await done(
        change(request.match_info["queue_id"], request.match_info["extension"])
    )
    return json_response({"agent": agent})


@routes.post(PREFIX + "/queues/{queue_id}/agents/{extension}/connect")
async def connect_agent(request):
    return await _agent_answer(request, state_of(request).connect_agent)


@routes.post(PREFIX + "/queues/{queue_id}/agents/{extension}/disconnect")
async def disconnect_agent(request):
    return await _agent_answer(request, state_of(request).disconnect_agent)


@routes.post(PREFIX + "/calls")
async def originate(request):
    data = await read_object(request)
    return _created("call", await done(state_of(request).originate(data)))


@routes.get(PREFIX + "/calls/{call_id}")
async def get_call(request):
    return json_response(
        {"call": await done(state_of(request).get_call(request.match_info["call_id"]))}
    )


@routes.delete(PREFIX + "/calls/{call_id}")
async def hangup(request):
    return json_response(
        {"call": await done(state_of(request).hangup(request.match_info["call_id"]))}
    )


def _report_query(request):
    """The state, the queue the URL names (404 when unknown) and the report's
    filters the query string gives."""
    state = state_of(request)
    queue_id = request.match_info["queue_id"]
    state.get_queue(queue_id)
    q = request.query
    return state, queue_id, dict(
        date_from=parse_time(q.get("from"), "from"),
        date_to=parse_time(q.get("to"), "to"),
        types=parse_types(q.get("types")),
        call_id=q.get("call_id") or None,
        caller_number=q.get("caller_number") or None,
    )


@routes.get(PREFIX + "/queues/{queue_id}/events")
async def queue_events(request):
    state, queue_id, filters = _report_query(request)
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


# The report's CSV: when, what, where, then every documented field (events.py).
CSV_COLUMNS = (
    ("timestamp", "type", "label", "queue_id") + ev.EVENT_FIELDS[5:] + ("id", "seq")
)


@routes.get(PREFIX + "/queues/{queue_id}/events.csv")
async def queue_events_csv(request):
    state, queue_id, filters = _report_query(request)
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
    state = state_of(request)
    after = parse_cursor(request.query.get("after"), "after")
    limit = parse_int(request.query.get("limit"), "limit", 1, MAX_LIMIT, 1000)
    page, more = state.events_after(after, limit)
    next_cursor = str(page[-1]["seq"]) if page else str(after)
    if pbx_of(request).faults["feed_stuck"] and page:
        # A faulty PBX: the same page for ever, its cursor never moving.
        next_cursor, more = str(after), True
    return json_response({"events": page, "next_cursor": next_cursor, "has_more": more})


@routes.get(PREFIX + "/events/stream")
async def event_stream(request):
    sim = pbx_of(request)
    cursor = parse_cursor(request.query.get("after"), "after")
    try:
        heartbeat = min(60.0, max(0.1, float(request.query.get("heartbeat") or 15)))
    except ValueError:
        raise invalid(
            "heartbeat", "Parameter 'heartbeat' must be a number of seconds."
        ) from None
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    reader = asyncio.ensure_future(_drain(ws))
    sent = 0
    close_after = int(sim.faults["ws_close_after"] or 0)
    try:
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            while not ws.closed and not reader.done():
                changed = sim.changed
                page, _ = sim.state.events_after(cursor, 500)
                for event in page:
                    await ws.send_str(
                        dumps(
                            {
                                "type": "event",
                                "cursor": str(event["seq"]),
                                "event": event,
                            }
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
                    {waiter, reader},
                    timeout=heartbeat,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                if not done and not ws.closed:
                    await ws.send_str(
                        dumps({"type": "heartbeat", "cursor": str(cursor)})
                    )
    finally:
        reader.cancel()
        if not ws.closed:
            await ws.close()
    return ws


async def _drain(ws):
    async for _msg in ws:  # answers pings, notices the close frame
        pass
