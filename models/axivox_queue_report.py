"""The queue report page (axivox.queue.report): its filters turned into one domain,
its results and its CSV export; and the preset periods, which the queue KPIs share."""

import json
from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..axivox_api.events import EVENT_TYPES

PERIODS = ("today", "yesterday", "this_week", "last_7_days", "this_month", "custom")
# The columns of the report page (the CSV export has the report's full columns).
PAGE_FIELDS = [
    "event_time",
    "queue_id",
    "queue_name",
    "event_type",
    "call_id",
    "caller_number",
    "agent_user_id",
    "agent_extension",
    "wait_time",
    "talk_time",
]
MAX_PAGE = 500


class AxivoxQueueReport(models.AbstractModel):
    """The queue report page: its filters (period presets or from/to, the 13 event
    types, call ID, caller number, queues) turned into one domain, for the results
    shown and for the CSV export alike: what is exported is exactly what is shown."""

    _name = "axivox.queue.report"
    _description = "Call Queue Report Page"

    @api.model
    def get_filter_info(self, queue_ids=None):
        """What the page's filters offer: the event types with their labels, the
        queues."""
        Event = self.env["axivox.queue.event"]
        labels = dict(Event._fields["event_type"]._description_selection(self.env))
        queues = (
            self.env["axivox.queue"]
            .with_context(active_test=False)
            .browse([int(q) for q in queue_ids or [] if str(q).isdigit()])
            .exists()
        )
        return {
            "event_types": [[code, labels[code]] for code in EVENT_TYPES],
            "queues": [[queue.id, queue.display_name] for queue in queues],
        }

    @api.model
    def _period(self, filters):
        """(start, end) of the filters' period in naive UTC, ``end`` excluded."""
        period = filters.get("period") or "last_7_days"
        if period not in PERIODS:
            raise UserError(
                _(
                    "Choose a period: today, yesterday, this week, the last 7 days, "
                    "this month, or from and to."
                )
            )
        if period == "custom":
            try:
                start = fields.Datetime.to_datetime(filters.get("date_from") or None)
                end = fields.Datetime.to_datetime(filters.get("date_to") or None)
            except ValueError as exc:
                raise UserError(
                    _("The period's From and To must be dates and times.")
                ) from exc
            if not start or not end:
                raise UserError(_("Give the period's From and To."))
            if start > end:
                raise UserError(_("The report period must start before it ends."))
            return start, end + timedelta(seconds=1)
        return self._preset_periods()[period]

    @api.model
    def _preset_periods(self):
        """The preset periods (all of PERIODS but "custom") as they are now in the
        user's time zone: ``{preset: (start, end)}``, naive UTC, ``end`` excluded. The
        queue KPIs use the same periods."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        today = pytz.utc.localize(fields.Datetime.now()).astimezone(tz).date()

        def midnight(day):
            local = tz.localize(datetime.combine(day, time.min))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        tomorrow = midnight(today + timedelta(days=1))
        return {
            "today": (midnight(today), tomorrow),
            "yesterday": (midnight(today - timedelta(days=1)), midnight(today)),
            "this_week": (midnight(today - timedelta(days=today.weekday())), tomorrow),
            "last_7_days": (midnight(today - timedelta(days=6)), tomorrow),
            "this_month": (midnight(today.replace(day=1)), tomorrow),
        }

    @api.model
    def get_domain(self, filters):
        """The domain of the report lines the filters keep (a clear error for bad
        input)."""
        if not isinstance(filters, dict):
            raise UserError(_("The report's filters are not valid."))
        start, end = self._period(filters)
        types = filters.get("event_types")
        if types is None:
            types = list(EVENT_TYPES)
        if not isinstance(types, list) or any(t not in EVENT_TYPES for t in types):
            raise UserError(_("Unknown event type in the report's filters."))
        domain = [
            ("event_time", ">=", start),
            ("event_time", "<", end),
            ("event_type", "in", types),
        ]
        queue_ids = filters.get("queue_ids") or []
        if not isinstance(queue_ids, list) or not all(
            isinstance(q, int) and not isinstance(q, bool) for q in queue_ids
        ):
            raise UserError(_("The report's queues are not valid."))
        if queue_ids:
            domain.append(("queue_id", "in", queue_ids))
        for key, operator in (("call_id", "="), ("caller_number", "ilike")):
            value = filters.get(key)
            if value and not isinstance(value, str):
                raise UserError(_("The report's filters are not valid."))
            if value and value.strip():
                domain.append((key, operator, value.strip()))
        return domain

    @api.model
    def search_page(self, filters, offset=0, limit=80):
        """The results the page shows: ``{"records": [...], "length": n, "from",
        "to", "tz"}``: the period in naive UTC, its last second included, and the time
        zone its days were counted in (the user's), in which the page shows it."""
        Event = self.env["axivox.queue.event"]
        domain = self.get_domain(filters)
        offset = max(0, int(offset or 0))
        limit = min(MAX_PAGE, max(1, int(limit or 80)))
        events = Event.search(domain, offset=offset, limit=limit)
        records = events.read(PAGE_FIELDS)
        for record in records:
            if not record["queue_id"] and record["queue_name"]:
                record["queue_id"] = (False, record["queue_name"])
        start, end = self._period(filters)
        return {
            "records": records,
            "length": Event.search_count(domain),
            "offset": offset,
            "limit": limit,
            "from": fields.Datetime.to_string(start),
            "to": fields.Datetime.to_string(end - timedelta(seconds=1)),
            "tz": self.env.context.get("tz") or self.env.user.tz or "UTC",
        }

    @api.model
    def export_csv(self, filters):
        """(file name, CSV bytes) of exactly the lines the page shows for
        ``filters``."""
        if isinstance(filters, str):
            try:
                filters = json.loads(filters)
            except ValueError as exc:
                raise UserError(_("The report's filters are not valid.")) from exc
        domain = self.get_domain(filters)
        start, end = self._period(filters)
        content = self.env["axivox.queue.event"]._report_csv(domain)
        name = f"queue-report-{start:%Y%m%d}-{end - timedelta(seconds=1):%Y%m%d}.csv"
        return name, content
