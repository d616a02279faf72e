"""axivox.queue.event: the queue report lines of the PBX, and how they are written in
bulk. How a batch of events enters Odoo is axivox.event.intake
(axivox_event_intake.py)."""
import csv
import functools
import io

from psycopg2.errors import UniqueViolation

from odoo import api, fields, models
from odoo.tools.sql import create_index

from ..axivox_api.events import (
    EVENT_LABELS,
    EVENT_TYPES,
    INT_FIELDS,
    parse_timestamp,
)

EVENT_SOURCES = [
    ("webhook", "Webhook"),
    ("stream", "Event stream"),
    ("sync", "Sync"),
]


@functools.lru_cache(maxsize=8192)
def event_moment(timestamp):
    """The moment of a validated event's ``timestamp``, as ``parse_timestamp`` gives it:
    parsed once, however many steps of the ingestion read it."""
    return parse_timestamp(timestamp)


def insert_new_rows(model, columns, rows, key, returning="id"):
    """INSERT ``rows`` (tuples of ``columns``) into the table of ``model`` in one
    statement, skipping those whose ``key`` columns are already stored (even by another
    transaction at the same moment). Returns the ``returning`` column of the rows
    inserted."""
    model.flush_model()
    inserted = model.env.cr.execute_values(
        f"""INSERT INTO {model._table} ({", ".join(columns)})
            VALUES %s
            ON CONFLICT ({", ".join(key)}) DO NOTHING
            RETURNING {returning}""",
        rows,
        page_size=len(rows),
        fetch=True,
    )
    return [row[0] for row in inserted]


# From this many rows on, the new events are written with COPY: a 1,000-row INSERT
# ... VALUES costs more to build and to parse than to write.
COPY_FROM_ROWS = 32

# COPY's text format: these characters are written escaped; \N is NULL.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value):
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPES)


def copy_text(rows):
    """``rows`` in COPY's text format. Values are written with ``str`` (a boolean as
    True / False, which PostgreSQL reads); the rare text that holds a backslash, a tab
    or a line break is escaped (everything is then written value by value)."""
    text = "".join(
        "\t".join(["\\N" if value is None else str(value) for value in row]) + "\n"
        for row in rows
    )
    nulls = sum(row.count(None) for row in rows)  # each one backslash: \N
    if (
        text.count("\\") != nulls
        or "\r" in text
        or text.count("\n") != len(rows)
        or text.count("\t") != len(rows) * (len(rows[0]) - 1)
    ):
        text = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
    return text


def copy_new_rows(model, columns, rows, key):
    """Like :func:`insert_new_rows` (returns the ``key[1]`` values of the rows
    written) for a large batch, with COPY. Most batches are new: they are written
    straight away. When some were stored already (a delivery sent again, the sync after
    the webhooks), that COPY stops on the unique key and is undone; the stored ones are
    then read and the others written. Only for writers that hold a lock no other writer
    of these rows does without (the account's events lock). ``key`` is ``(account
    column, id column)``, and the rows of one account."""
    model.flush_model()
    cr = model.env.cr
    account_at, id_at = columns.index(key[0]), columns.index(key[1])
    try:
        with cr.savepoint(flush=False):
            _copy(cr, model._table, columns, rows)
        return [row[id_at] for row in rows]
    except UniqueViolation:
        cr.execute(
            f"""SELECT {key[1]} FROM {model._table}
                 WHERE {key[0]} = %s AND {key[1]} = ANY(%s)""",
            [rows[0][account_at], [row[id_at] for row in rows]],
        )
        stored = {row[0] for row in cr.fetchall()}
    new = [row for row in rows if row[id_at] not in stored]
    if new:
        _copy(cr, model._table, columns, new)
    return [row[id_at] for row in new]


def _copy(cr, table, columns, rows):
    cr._obj.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(copy_text(rows))
    )
    cr.sql_log_count += 1  # counted as Cursor.execute counts a query


# A CSV cell starting with one of these is a formula to spreadsheets (a tab or a
# carriage return before one is skipped by some of them).
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AxivoxQueueEvent(models.Model):
    """One line of the queue report, as the PBX logged it (Asterisk's queue_log)."""

    _name = "axivox.queue.event"
    _description = "Call Queue Event"
    _order = "event_ts desc, id desc"
    _rec_name = "pbx_event_id"

    # Not indexed alone: the unique (account_id, pbx_event_id) index starts with it.
    account_id = fields.Many2one(
        "axivox.account",
        string="PBX Account",
        required=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True
    )
    queue_id = fields.Many2one("axivox.queue", index=True, ondelete="set null")
    queue_remote_id = fields.Char("PBX Queue Id")
    # The queue's name, kept on the event: the report of a deleted queue stays
    # searchable (with "contains", which a btree index does not serve).
    queue_name = fields.Char()
    event_time = fields.Datetime("Time", required=True, index=True)
    event_ts = fields.Float(
        "Timestamp",
        digits=(16, 3),
        required=True,
        help="PBX time, epoch seconds with milliseconds.",
    )
    event_type = fields.Selection(
        [(code, EVENT_LABELS[code]) for code in EVENT_TYPES],
        required=True,
        index=True,
    )
    event_code = fields.Char(
        "Asterisk Event", compute="_compute_event_code", help="Asterisk queue_log name."
    )
    call_id = fields.Char("Call ID", index=True)
    caller_number = fields.Char()  # searched with "contains"; matched by caller_e164
    agent_extension = fields.Char()
    agent_name = fields.Char("PBX Agent Name")
    # Indexed with the time (axivox_queue_event_agent_day_idx, see the day report).
    agent_user_id = fields.Many2one("res.users", string="Agent")
    agent_unmapped = fields.Boolean(
        "Unmapped Agent",
        compute="_compute_agent_unmapped",
        store=True,
        help="The PBX named an extension that no Odoo user is mapped to.",
    )
    member_type = fields.Selection([("static", "Static"), ("dynamic", "Dynamic")])
    position = fields.Integer()
    original_position = fields.Integer()
    wait_time = fields.Integer("Waiting Time (s)", group_operator="avg")
    hold_time = fields.Integer("Hold Time (s)", group_operator="avg")
    talk_time = fields.Integer("Talk Time (s)", group_operator="avg")
    ring_time = fields.Integer("Ringing Time (s)", group_operator="avg")
    transfer_target = fields.Char()
    pbx_event_id = fields.Char("PBX Event ID", required=True, readonly=True)
    source = fields.Selection(EVENT_SOURCES, readonly=True)
    payload = fields.Json(readonly=True)

    _sql_constraints = [
        (
            "pbx_event_unique",
            "unique(account_id, pbx_event_id)",
            "This PBX event is already stored.",
        ),
    ]

    def init(self):
        res = super().init()
        # An agent's last login / logout before a moment (queue KPIs: state at the start
        # of a period) is one index lookup, however long the report.
        create_index(
            self.env.cr,
            "axivox_queue_event_login_idx",
            self._table,
            ["queue_id", "agent_extension", "event_ts DESC"],
            where="event_type IN ('ADDMEMBER', 'REMOVEMEMBER')",
        )
        # The events received before their queue was mirrored, which the sync links to
        # it (a handful, where an index of every event's queue id cost each insert).
        create_index(
            self.env.cr,
            "axivox_queue_event_unmapped_idx",
            self._table,
            ["account_id", "queue_remote_id"],
            where="queue_id IS NULL",
        )
        return res

    @api.model_create_multi
    def create(self, vals_list):
        queues = (
            self.env["axivox.queue"]
            .sudo()
            .browse([vals["queue_id"] for vals in vals_list if vals.get("queue_id")])
        )
        names = {queue.id: queue.name for queue in queues}
        for vals in vals_list:
            if vals.get("queue_id") and not vals.get("queue_name"):
                vals["queue_name"] = names.get(vals["queue_id"])
        return super().create(vals_list)

    def _compute_event_code(self):
        for event in self:
            event.event_code = event.event_type

    @api.depends("agent_extension", "agent_user_id")
    def _compute_agent_unmapped(self):
        for event in self:
            event.agent_unmapped = bool(
                event.agent_extension and not event.agent_user_id
            )

    @api.model
    def _report_columns(self):
        """The columns of the queue report and of its CSV export, in order."""
        return [
            "event_time",
            "queue_id",
            "event_type",
            "event_code",
            "call_id",
            "caller_number",
            "agent_user_id",
            "agent_extension",
            "position",
            "original_position",
            "wait_time",
            "ring_time",
            "talk_time",
            "hold_time",
            "transfer_target",
            "pbx_event_id",
        ]

    @api.model
    def _report_csv(self, domain, batch_size=5000):
        """The report rows matching ``domain`` as CSV bytes (UTF-8, header row
        first)."""
        columns = self._report_columns()
        fields_info = self.fields_get(columns, ["string", "type", "selection"])
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([fields_info[name]["string"] for name in columns])
        offset = 0
        while True:
            events = self.search(
                domain, offset=offset, limit=batch_size, order="event_ts, id"
            )
            if not events:
                break
            for row in events.read(columns + ["queue_name"], load="_classic_read"):
                if not row["queue_id"] and row["queue_name"]:
                    # A deleted queue: its report lines keep its name.
                    row["queue_id"] = (False, row["queue_name"])
                writer.writerow(
                    [
                        self._csv_value(row[name], fields_info[name], name)
                        for name in columns
                    ]
                )
            offset += batch_size
            self.env.invalidate_all()
        return buffer.getvalue().encode("utf-8")

    @api.model
    def _csv_value(self, value, info, name):
        if info["type"] == "many2one":
            value = value[1] if value else ""
        elif info["type"] == "selection":
            value = dict(info["selection"]).get(value, "")
        elif info["type"] == "datetime":
            return fields.Datetime.to_string(value) if value else ""
        elif value is False or value is None:
            return "" if info["type"] != "integer" else 0
        if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
            # Caller numbers, call ids, transfer targets, queue and agent names come
            # from outside: a cell a spreadsheet would run as a formula is quoted, as
            # Odoo's own export does.
            return "'" + value
        return value

    # The columns axivox.event.intake writes, in its rows' order.
    _INSERT_COLUMNS = (
        "account_id",
        "company_id",
        "queue_id",
        "queue_remote_id",
        "queue_name",
        "event_time",
        "event_ts",
        "event_type",
        "call_id",
        "caller_number",
        "agent_extension",
        "agent_name",
        "agent_user_id",
        "agent_unmapped",
        "member_type",
        *INT_FIELDS,
        "transfer_target",
        "pbx_event_id",
        "source",
        "payload",
        # No create_uid / write_uid: the PBX made these lines, not an Odoo user (and
        # each of them would be one more foreign-key check per row).
        "create_date",
        "write_date",
        "caller_e164",
        "partner_id",
    )
