"""The PBX model every server of the API shares (no aiohttp here): users, queues,
dynamic agents' connections and the ordered event feed, each change validated as the
API documents it (docs/openapi.yaml).

The simulator completes it with simulated calls (``axivox_simulator.state``); the
Asterisk gateway with a real PBX behind it (``axivox_gateway.asterisk``).
"""
import bisect
import copy
import re
import uuid

from ._compat import events as ev
from ._compat import rules
from .errors import PBXError, invalid, iso, utcnow

DIAL_RE = rules.DIAL_STRING
NUMBER_RE = re.compile(r"^\+?[0-9*#]{1,32}$")

# What the PBX says to an agent who dialed a queue's code, by outcome.
CODE_MESSAGES = {
    "logged_in": "You are now logged in to the %s queue.",
    "logged_out": "You are now logged out of the %s queue.",
    "already_logged_in": "You were already logged in to the %s queue.",
    "already_logged_out": "You were already logged out of the %s queue.",
    "static_agent": "You are a static agent of the %s queue: static agents are "
    "always connected.",
    "not_a_member": "You are not an agent of the %s queue.",
}

QUEUE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
STRATEGIES = rules.STRATEGY_VALUES
QUEUE_FIELDS = (*rules.QUEUE_CONFIG_FIELDS, "static_agents", "dynamic_agents")
READ_ONLY_FIELDS = ("id", "version", "applied", "updated_at")


def slugify(name):
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:48] or "queue"


class PBXModel:
    """The PBX: users, queues, agents' connections and the event feed. Subclasses add
    the calls."""

    def __init__(self, data, announce_seconds=2.0):
        self.announce_seconds = announce_seconds
        self.listeners = []  # callables(event dict), called on emit
        self.seq = 0
        self.pbx_id = uuid.uuid4().hex[:8]
        self.dirty = False
        self.load_data(data)

    # ------------------------------------------------------------ loading
    def load_data(self, data):
        """Replace the configuration by ``data`` (demo.json format); keeps ``seq``."""
        self.users = {}
        self.queues = {}
        self.connections = {}  # (queue_id, ext) -> connected_since ISO
        self.calls = {}
        self.events = []
        self._seqs = []
        self.agent_stats = {}  # ext -> {"calls": n, "last_call_end": epoch}
        self.rr_pointer = {}  # queue_id -> index (rrmemory)
        for user in data.get("users", []):
            ext = str(user["extension"])
            self.users[ext] = {
                "extension": ext,
                "name": user.get("name") or ext,
                "email": user.get("email") or None,
            }
        now = iso(utcnow())
        for q in data.get("queues", []):
            queue = self._clean_queue(dict(q), None)
            queue.update(id=q["id"], version=1, applied=True, updated_at=now)
            self.queues[queue["id"]] = queue
        for conn in data.get("connected_agents", []):
            key = (conn["queue_id"], str(conn["extension"]))
            if (
                key[0] in self.queues
                and key[1] in self.queues[key[0]]["dynamic_agents"]
            ):
                self.connections[key] = conn.get("connected_since") or now
        self.dirty = True

    def snapshot(self):
        return {
            "format": 1,
            "pbx_id": self.pbx_id,
            "seq": self.seq,
            "users": list(self.users.values()),
            "queues": list(self.queues.values()),
            "connections": [
                {"queue_id": q, "extension": e, "connected_since": s}
                for (q, e), s in self.connections.items()
            ],
            "calls": list(self.calls.values()),
            "events": self.events,
            "agent_stats": self.agent_stats,
            "rr_pointer": self.rr_pointer,
        }

    def restore(self, snap):
        self.pbx_id = snap["pbx_id"]
        self.seq = snap["seq"]
        self.users = {u["extension"]: u for u in snap["users"]}
        self.queues = {q["id"]: q for q in snap["queues"]}
        self.connections = {
            (c["queue_id"], c["extension"]): c["connected_since"]
            for c in snap["connections"]
        }
        self.calls = {c["id"]: c for c in snap["calls"]}
        self.events = snap["events"]
        self._seqs = [e["seq"] for e in self.events]
        self.agent_stats = snap.get("agent_stats", {})
        self.rr_pointer = snap.get("rr_pointer", {})

    # ------------------------------------------------------------- events
    def emit(self, type_, queue_id, timestamp=None, **fields):
        assert type_ in ev.EVENT_TYPES, type_
        self.seq += 1
        event = {
            "id": "%s-%010d" % (self.pbx_id, self.seq),
            "seq": self.seq,
            "type": type_,
            "queue_id": queue_id,
            "timestamp": iso(timestamp or utcnow()),
        }
        for field in ev.EVENT_FIELDS[5:]:
            event[field] = fields.pop(field, None)
        assert not fields, fields
        return self._append(event)

    def _append(self, event):
        """Add ``event`` to the feed and tell the listeners (webhooks, the stream)."""
        self.events.append(event)
        self._seqs.append(event["seq"])
        self.dirty = True
        for listener in list(self.listeners):
            listener(event)
        return event

    def emit_raw(self, obj):
        """Append ``obj`` to the feed as it is (only its ``seq`` is set): a malformed
        event, for the tests of the receivers."""
        self.seq += 1
        event = dict(obj, seq=self.seq)
        return self._append(event)

    def events_after(self, after, limit):
        start = bisect.bisect_right(self._seqs, after)
        return self.events[start : start + limit], len(self.events) > start + limit

    def query_events(
        self,
        queue_id,
        date_from=None,
        date_to=None,
        types=None,
        call_id=None,
        caller_number=None,
        after=0,
    ):
        for event in self.events[bisect.bisect_right(self._seqs, after) :]:
            if event["queue_id"] != queue_id:
                continue
            if types and event["type"] not in types:
                continue
            if call_id and event["call_id"] != call_id:
                continue
            if caller_number and event["caller_number"] != caller_number:
                continue
            if date_from or date_to:
                ts = ev.parse_timestamp(event["timestamp"])
                if (date_from and ts < date_from) or (date_to and ts > date_to):
                    continue
            yield event

    # -------------------------------------------------------------- calls
    def check_call_request(self, data):
        """``(from, to)`` of a ``POST /calls`` body, checked."""
        if not isinstance(data, dict):
            raise PBXError(
                422, "validation_error", "The request body must be a JSON object."
            )
        src, dst = data.get("from"), data.get("to")
        if not isinstance(src, str) or not DIAL_RE.match(src):
            raise invalid("from", "Field 'from' must be the caller's extension.")
        if not isinstance(dst, str) or not NUMBER_RE.match(dst):
            raise invalid(
                "to",
                "Field 'to' must be a number made of digits, *, # and an optional +.",
            )
        if src not in self.users:
            raise PBXError(
                404,
                "unknown_extension",
                "Extension %s does not exist on the PBX." % src,
            )
        return src, dst

    def code_of(self, dst):
        """``(queue, "login" or "logout")`` when ``dst`` is a queue's code, else
        ``(None, None)``."""
        for queue in self.queues.values():
            if dst == queue["login_code"]:
                return queue, "login"
            if dst == queue["logout_code"]:
                return queue, "logout"
        return None, None

    # ------------------------------------------------------------- queues
    def list_users(self):
        """{extension: user}: the PBX's users."""
        return self.users

    def get_queue(self, queue_id):
        queue = self.queues.get(queue_id)
        if queue is None:
            raise PBXError(
                404, "queue_not_found", "Queue '%s' does not exist." % queue_id
            )
        return queue

    def _dial_owner(self, dial, exclude_queue):
        """Who already uses this dial string (None when free)."""
        if dial in self.users:
            return "user %s" % dial
        for q in self.queues.values():
            if q["id"] == exclude_queue:
                continue
            if dial == q["extension"]:
                return "the extension of queue '%s'" % q["id"]
            if dial in (q["login_code"], q["logout_code"]):
                return "a code of queue '%s'" % q["id"]
        return None

    def _queue_values(self, data, base):
        """``data`` merged over ``base`` (a new queue's defaults when None), unknown
        fields refused."""
        if not isinstance(data, dict):
            raise PBXError(
                422, "validation_error", "The request body must be a JSON object."
            )
        for key in data:
            if key not in QUEUE_FIELDS and key not in READ_ONLY_FIELDS:
                raise invalid(key, "Unknown field '%s'." % key)
        out = {
            k: copy.deepcopy(v) for k, v in (base or {}).items() if k in QUEUE_FIELDS
        }
        out.update({k: copy.deepcopy(v) for k, v in data.items() if k in QUEUE_FIELDS})
        if base is None:
            for field in ("name", "extension"):
                if field not in data:
                    raise invalid(field, "Field '%s' is required." % field)
            ext = data.get("extension")
            out.setdefault("strategy", "ringall")
            out.setdefault("max_wait_time", 300)
            out.setdefault("max_ring_time", 20)
            if isinstance(ext, str):
                out.setdefault("login_code", "*" + ext)
                out.setdefault("logout_code", "#" + ext)
            out.setdefault("static_agents", [])
            out.setdefault("dynamic_agents", [])
        return out

    def _check_dials_and_agents(self, out, queue_id):
        """The queue's dial strings are free on the PBX, its agents are PBX users, each
        listed once."""
        dials = {
            "extension": out["extension"],
            "login_code": out["login_code"],
            "logout_code": out["logout_code"],
        }
        if len(set(dials.values())) != 3:
            raise invalid(
                "logout_code",
                "The extension, login code and logout code must all differ.",
            )
        for field, dial in dials.items():
            owner = self._dial_owner(dial, queue_id)
            if owner:
                raise invalid(
                    field,
                    f"Field '{field}': {dial} is already used by {owner}.",
                )
        seen = set()
        for field in ("static_agents", "dynamic_agents"):
            agents = out[field]
            if not isinstance(agents, list):
                raise invalid(field, "Field '%s' must be a list of extensions." % field)
            for ext in agents:
                if not isinstance(ext, str) or ext not in self.users:
                    raise invalid(
                        field,
                        f"Field '{field}': {ext!r} is not a PBX user extension.",
                    )
                if ext in seen:
                    raise invalid(
                        field,
                        f"Field '{field}': extension {ext} is listed twice "
                        "(an agent is either static or dynamic).",
                    )
                seen.add(ext)

    def _clean_queue(self, data, queue_id, base=None):
        """Validate ``data`` merged over ``base``; return the full queue fields."""
        out = self._queue_values(data, base)
        name = out.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 128:
            raise invalid(
                "name",
                "Field 'name' must be a non-empty text of at most 128 characters.",
            )
        out["name"] = name.strip()
        for field in ("extension", "login_code", "logout_code"):
            value = out.get(field)
            if not isinstance(value, str) or not DIAL_RE.match(value):
                raise invalid(
                    field,
                    "Field '%s' must be 1 to 20 characters among 0-9, * and #." % field,
                )
        if out["strategy"] not in STRATEGIES:
            raise invalid(
                "strategy",
                "Field 'strategy' must be one of %s." % ", ".join(STRATEGIES),
            )
        for field, high in (
            ("max_wait_time", rules.MAX_WAIT_TIME),
            ("max_ring_time", rules.MAX_RING_TIME),
        ):
            value = out[field]
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 1 <= value <= high
            ):
                raise invalid(
                    field,
                    "Field '%s' must be a whole number of seconds between 1 and %d."
                    % (field, high),
                )
        self._check_dials_and_agents(out, queue_id)
        return out

    def create_queue(self, data):
        if not isinstance(data, dict):
            raise PBXError(
                422, "validation_error", "The request body must be a JSON object."
            )
        queue_id = data.get("id")
        if queue_id is not None:
            if not isinstance(queue_id, str) or not QUEUE_ID_RE.match(queue_id):
                raise invalid(
                    "id",
                    "Field 'id' must be 1 to 64 characters among a-z, 0-9, _ and -.",
                )
            if queue_id in self.queues:
                raise PBXError(
                    409, "already_exists", "Queue '%s' already exists." % queue_id
                )
        fields = self._clean_queue(data, queue_id)
        if queue_id is None:
            base = slugify(fields["name"])
            queue_id, n = base, 1
            while queue_id in self.queues:
                n += 1
                queue_id = "%s-%d" % (base, n)
        queue = dict(id=queue_id, **fields)
        queue.update(version=1, applied=False, updated_at=iso(utcnow()))
        self.queues[queue_id] = queue
        self.dirty = True
        return queue

    def update_queue(self, queue_id, data, if_match=None):
        queue = self.get_queue(queue_id)
        if if_match is not None and if_match != queue["version"]:
            raise PBXError(
                409,
                "version_conflict",
                "Queue '%s' was changed by someone else (version %d, not %d); "
                "reload it and try again." % (queue_id, queue["version"], if_match),
            )
        fields = self._clean_queue(data, queue_id, base=queue)
        changed = any(queue[k] != fields[k] for k in QUEUE_FIELDS)
        if changed:
            removed = set(queue["dynamic_agents"]) - set(fields["dynamic_agents"])
            queue.update(fields)
            queue["version"] += 1
            queue["applied"] = False
            queue["updated_at"] = iso(utcnow())
            for ext in sorted(removed):
                if (
                    self.connections.pop((queue_id, ext), None) is not None
                    and ext not in queue["static_agents"]
                ):
                    self._member_event("REMOVEMEMBER", queue, ext, "dynamic")
            self.dirty = True
        return queue

    def delete_queue(self, queue_id):
        self.get_queue(queue_id)
        del self.queues[queue_id]
        for key in [k for k in self.connections if k[0] == queue_id]:
            del self.connections[key]
        self.rr_pointer.pop(queue_id, None)
        self.dirty = True

    def apply(self):
        pending = [q for q in self.queues.values() if not q["applied"]]
        for q in pending:
            q["applied"] = True
        self.dirty = True
        return len(pending)

    # ------------------------------------------------------------- agents
    def member_type(self, queue, ext):
        if ext in queue["static_agents"]:
            return "static"
        if ext in queue["dynamic_agents"]:
            return "dynamic"
        return None

    def is_connected(self, queue, ext):
        kind = self.member_type(queue, ext)
        return kind == "static" or (
            kind == "dynamic" and (queue["id"], ext) in self.connections
        )

    def connected_agents(self, queue):
        """Connected members in list order: static first, then dynamic."""
        return list(queue["static_agents"]) + [
            e for e in queue["dynamic_agents"] if (queue["id"], e) in self.connections
        ]

    def agent(self, queue, ext):
        kind = self.member_type(queue, ext)
        user = self.users.get(ext, {})
        return {
            "queue_id": queue["id"],
            "extension": ext,
            "name": user.get("name", ext),
            "type": kind,
            "connected": self.is_connected(queue, ext),
            "connected_since": self.connections.get((queue["id"], ext)),
        }

    def list_agents(self, queue_id=None):
        queues = (
            [self.get_queue(queue_id)] if queue_id is not None else self.queues.values()
        )
        return [
            self.agent(q, ext)
            for q in queues
            for ext in list(q["static_agents"]) + list(q["dynamic_agents"])
        ]

    def _member_event(self, type_, queue, ext, kind, timestamp=None):
        return self.emit(
            type_,
            queue["id"],
            timestamp=timestamp,
            agent_extension=ext,
            agent_name=self.users.get(ext, {}).get("name"),
            member_type=kind,
        )

    def _member(self, queue_id, ext):
        queue = self.get_queue(queue_id)
        kind = self.member_type(queue, ext)
        if kind is None:
            raise PBXError(
                404,
                "not_a_member",
                f"Extension {ext} is not an agent of queue '{queue_id}'.",
            )
        return queue, kind

    def connect_agent(self, queue_id, ext):
        """Returns (agent, changed)."""
        queue, kind = self._member(queue_id, ext)
        changed = False
        if kind == "dynamic" and (queue_id, ext) not in self.connections:
            self.connections[(queue_id, ext)] = iso(utcnow())
            self._member_event("ADDMEMBER", queue, ext, kind)
            changed = True
        return self.agent(queue, ext), changed

    def disconnect_agent(self, queue_id, ext):
        queue, kind = self._member(queue_id, ext)
        if kind == "static":
            raise PBXError(
                409,
                "static_agent",
                "Extension {} is a static agent of queue '{}': static agents are "
                "always connected.".format(ext, queue_id),
            )
        changed = False
        if (queue_id, ext) in self.connections:
            del self.connections[(queue_id, ext)]
            self._member_event("REMOVEMEMBER", queue, ext, kind)
            changed = True
        return self.agent(queue, ext), changed
