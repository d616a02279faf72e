"""What every HTTP handler of a PBX API server has in common: the URL prefixes, JSON
answers and errors, reading and checking request bodies and parameters, and the
middleware (the API key, fault injection, the request log, errors as JSON)."""

import asyncio
import hmac
import json
import logging

from aiohttp import web

from ._compat import events as ev
from .errors import PBXError, invalid, iso, utcnow

_logger = logging.getLogger("axivox_simulator")

PREFIX = "/api/v1"
SIM_PREFIX = PREFIX + "/_sim"
MAX_LIMIT = 5000


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
        raise PBXError(
            400, "malformed_json", "The request body is not valid JSON."
        ) from None


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
        raise invalid(field, "Parameter '%s' must be a whole number." % field) from None
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
        ) from None


def parse_types(value):
    if not value:
        return None
    types = [t.strip().upper() for t in value.split(",") if t.strip()]
    unknown = [t for t in types if t not in ev.EVENT_TYPES]
    if unknown:
        raise invalid(
            "types",
            "Parameter 'types': unknown event type(s) {}; expected some of {}.".format(
                ", ".join(unknown), ", ".join(ev.EVENT_TYPES)
            ),
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
    sim = request.app["pbx"]
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


def pbx_of(request):
    """The running ``service.PBXService`` of the server."""
    return request.app["pbx"]
