"""HTTP client for the Axivox-compatible PBX API (``/api/v1``).

``AxivoxClient`` is the one wrapper for every PBX HTTP call: the API's calls (queues,
agents, calls, the queue report, the event feed) on ``transport.AxivoxTransport`` (one
session, a fixed timeout, retries of idempotent requests, errors mapped to
:mod:`axivox_api.exceptions`). ``parse_csv`` reads the report's CSV export.
"""
import csv
import datetime
import io

from .events import EVENT_TYPES, format_timestamp
from .exceptions import AxivoxError, AxivoxValidationError
from .transport import AxivoxTransport


def _iso(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # Odoo datetimes are naive UTC
            value = value.replace(tzinfo=datetime.timezone.utc)
        return format_timestamp(value)
    if isinstance(value, datetime.date):
        return value.isoformat() + "T00:00:00.000Z"
    return str(value)


class AxivoxClient(AxivoxTransport):
    """Client of one PBX account: see ``AxivoxTransport`` for its parameters."""

    # ---------------------------------------------------------------- health
    def ping(self):
        """Check the URL and the key: ``{"ok": True, "version": ..., "time": ...}``."""
        return self.request("GET", "/ping")

    # ---------------------------------------------------------------- queues
    def list_queues(self):
        """All queues (list of queue dicts)."""
        return self._list(self.request("GET", "/queues"), "queues", ("id",))

    def get_queue(self, queue_id):
        return self.request("GET", "/queues/%s" % self._seg(queue_id))["queue"]

    def create_queue(self, data, idempotency_key=None):
        """Create a queue; returns it. Safe to retry (sends an Idempotency-Key)."""
        return self.request(
            "POST",
            "/queues",
            json=data,
            idempotency_key=idempotency_key or self._new_key(),
        )["queue"]

    def update_queue(self, queue_id, data, version=None):
        """Partial update. With ``version``, the PBX refuses (AxivoxConflict)
        if the queue changed since that version."""
        headers = {"If-Match": '"%d"' % int(version)} if version is not None else None
        return self.request(
            "PUT", "/queues/%s" % self._seg(queue_id), json=data, headers=headers
        )["queue"]

    def delete_queue(self, queue_id):
        self.request("DELETE", "/queues/%s" % self._seg(queue_id))

    def apply_changes(self):
        """Publish pending queue changes to production: ``{"applied": n}``.

        Not retried automatically (plain POST)."""
        return self.request("POST", "/apply")

    # ----------------------------------------------------------------- users
    def list_users(self):
        """PBX users: list of ``{"extension", "name", "email"}``."""
        return self._list(self.request("GET", "/users"), "users", ("extension",))

    # ---------------------------------------------------------------- agents
    def list_agents(self, queue_id=None):
        """Agent memberships of one queue, or of every queue in one call."""
        params = {"queue_id": queue_id} if queue_id is not None else None
        return self._list(
            self.request("GET", "/agents", params=params),
            "agents",
            ("queue_id", "extension", "type"),
        )

    def connect_agent(self, queue_id, extension):
        """Log a dynamic agent in (no-op if already connected); returns the agent."""
        return self._agent_action(queue_id, extension, "connect")

    def disconnect_agent(self, queue_id, extension):
        """Log a dynamic agent out (AxivoxConflict for a static agent)."""
        return self._agent_action(queue_id, extension, "disconnect")

    def _agent_action(self, queue_id, extension, action):
        body = self.request(
            "POST",
            f"/queues/{self._seg(queue_id)}/agents/{self._seg(extension)}/{action}",
            idempotency_key=self._new_key(),
        )
        agent = body.get("agent") if isinstance(body, dict) else None
        if not isinstance(agent, dict):
            raise AxivoxError(
                "The PBX sent a malformed answer (no agent).", code="invalid_response"
            )
        return agent

    # ----------------------------------------------------------------- calls
    def originate(self, from_extension, to_number, idempotency_key=None):
        """Place a call from a PBX extension; returns the call dict
        (``outcome`` tells what dialing a login/logout code did)."""
        return self.request(
            "POST",
            "/calls",
            json={"from": str(from_extension), "to": str(to_number)},
            idempotency_key=idempotency_key or self._new_key(),
        )["call"]

    def get_call(self, call_id):
        return self.request("GET", "/calls/%s" % self._seg(call_id))["call"]

    def hangup(self, call_id):
        return self.request("DELETE", "/calls/%s" % self._seg(call_id))["call"]

    # ---------------------------------------------------------------- report
    @staticmethod
    def _report_params(
        date_from=None, date_to=None, types=None, call_id=None, caller_number=None
    ):
        params = {}
        if date_from is not None:
            params["from"] = _iso(date_from)
        if date_to is not None:
            params["to"] = _iso(date_to)
        if types:
            if isinstance(types, str):
                types = [t for t in types.split(",") if t]
            unknown = [t for t in types if t not in EVENT_TYPES]
            if unknown:
                raise AxivoxValidationError(
                    "Unknown event type(s): %s." % ", ".join(unknown),
                    code="validation_error",
                    field="types",
                )
            params["types"] = ",".join(types)
        if call_id:
            params["call_id"] = call_id
        if caller_number:
            params["caller_number"] = caller_number
        return params

    def iter_queue_report(self, queue_id, *, page_size=500, **filters):
        """Yield the queue's events matching the filters, oldest first,
        following ``next_cursor`` page by page.

        The filters (keywords): ``date_from``, ``date_to`` (datetimes), ``types``
        (a list or a comma-separated string of event types), ``call_id``,
        ``caller_number``."""
        params = self._report_params(**filters)
        params["limit"] = int(page_size)
        path = "/queues/%s/events" % self._seg(queue_id)
        while True:
            page = self.request("GET", path, params=params)
            yield from page["events"]
            cursor = page.get("next_cursor")
            if not cursor or not page["events"]:
                return
            params["cursor"] = cursor

    def queue_report(self, queue_id, **filters):
        """The whole report as a list (see :meth:`iter_queue_report`)."""
        return list(self.iter_queue_report(queue_id, **filters))

    def queue_report_csv(self, queue_id, **filters):
        """The report as CSV text (header row first), as exported by the PBX (the
        filters of :meth:`iter_queue_report`)."""
        params = self._report_params(**filters)
        response = self.request(
            "GET",
            "/queues/%s/events.csv" % self._seg(queue_id),
            params=params,
            raw=True,
            headers={"Accept": "text/csv"},
        )
        response.encoding = response.encoding or "utf-8"
        return response.text

    # ------------------------------------------------------------------ feed
    def events_since(self, cursor=None, limit=1000):
        """One page of the global event feed after ``cursor``.

        Returns ``(events, next_cursor, has_more)``; store ``next_cursor`` only
        once the events are processed, then call again while ``has_more``.
        """
        params = {"limit": int(limit)}
        if cursor not in (None, ""):
            params["after"] = str(cursor)
        page = self.request("GET", "/events", params=params)
        events = self._list(page, "events")
        next_cursor = page.get("next_cursor")
        if next_cursor is not None and not isinstance(next_cursor, str | int):
            raise AxivoxError(
                "The PBX sent a malformed event cursor.", code="invalid_response"
            )
        return events, next_cursor if next_cursor is None else str(next_cursor), bool(
            page.get("has_more")
        )


def parse_csv(text):
    """Parse a report CSV into a list of dicts (helper for callers and tests)."""
    return list(csv.DictReader(io.StringIO(text)))
