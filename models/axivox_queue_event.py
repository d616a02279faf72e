"""axivox.queue.event: the queue report lines of the PBX, and ``_ingest``, the one way
PBX events enter Odoo (webhook, stream, sync)."""
import collections
import csv
import functools
import io
import json

from psycopg2.errors import UniqueViolation

from odoo import api, fields, models
from odoo.tools.sql import create_index

from ..axivox_api.events import (
    EVENT_LABELS,
    EVENT_TYPES,
    INT_FIELDS,
    odoo_datetime,
    parse_timestamp,
    split_events,
)
from ..transactions import lock_events, own_transaction
from .bus_messages import send_many

EVENT_SOURCES = [
    ("webhook", "Webhook"),
    ("stream", "Event stream"),
    ("sync", "Sync"),
]

# What the phone number rules read of a country (res.country's fields of the same
# names).
Country = collections.namedtuple("Country", ["code", "phone_code"])


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

    # ------------------------------------------------------------------
    # Ingestion: the one way PBX events enter Odoo (webhook, stream, sync)
    # ------------------------------------------------------------------
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

    @api.model
    def _receive(self, account, items, source, now=None):
        """Validate the raw ``items`` of ``account`` one by one, quarantine the invalid
        ones and ingest the others. Returns ``{"applied", "duplicates"}`` and, when some
        were set aside, ``"quarantined"``."""
        valid, rejected = split_events(items, now=now)
        return self._quarantine_others(
            account, rejected, source, self._ingest(account, valid, source)
        )

    @api.model
    def _quarantine_others(self, account, rejected, source, result):
        if rejected:
            self.env["axivox.queue.event.quarantine"]._quarantine(
                account, rejected, source
            )
            result["quarantined"] = len(rejected)
        return result

    @api.model
    def _receive_committed(self, account, items, source, defer=False):
        """:meth:`_receive` in a transaction of its own, committed before it returns
        (its snapshot starts after the account's ingestion lock, so concurrent
        deliveries never conflict). Raises the database error of a conflict that a retry
        would solve.

        ``defer``: when an applier runs, the valid events are only stored for it to
        apply (see axivox.queue.event.inbox), in the caller's transaction, and
        ``{"queued": n}`` is returned instead of ``"applied"`` and ``"duplicates"``."""
        valid, rejected = split_events(items)
        stored = (
            defer
            and valid
            and self.env["axivox.queue.event.inbox"]._store_if_applier(account, valid)
        )
        if stored and not rejected:
            return {"queued": len(valid)}  # no transaction of its own
        # The bad events in READ COMMITTED, stored or not: the same bad event sent twice
        # at once is then kept once, without a serialization failure.
        with own_transaction(account.env) as env:
            own = account.with_env(env)
            Event = env["axivox.queue.event"]
            result = (
                {"queued": len(valid)} if stored else Event._ingest(own, valid, source)
            )
            return Event._quarantine_others(own, rejected, source, result)

    @api.model
    def _ingest(self, account, events, source):
        """Store validated PBX events of ``account`` and apply their effects.

        ``events`` were validated whole by ``axivox_api.events.validate_batch``. Events
        already stored (same PBX id) are acknowledged and not applied again, even when
        another transaction stores them at the same moment. The number of queries does
        not grow with the number of events.

        Returns ``{"applied": n, "duplicates": n}``.
        """
        account.ensure_one()
        unique = {}
        for event in events:
            unique.setdefault(event["id"], event)
        if not unique:
            return {"applied": 0, "duplicates": 0}
        batch = list(unique.values())
        # Read before the lock, which serializes the account's deliveries (the shorter
        # its hold, the more deliveries a second): the caller contacts (a contact
        # changed later is linked by res.partner itself), the queues and the agents.
        company_id, country = self._account_company(account)
        numbers = self._match_callers(batch, company_id, country)
        remote_ids = {e["queue_id"] for e in batch}
        extensions = {e["agent_extension"] for e in batch if e.get("agent_extension")}
        queues = self._queues_by_remote_id(account, remote_ids)
        users = account._users_by_extension(extensions)
        prepared = self._before_ingest_lock(account, batch, queues, users, numbers)
        # One ingestion per account at a time (webhooks, stream, sync): no two
        # transactions insert the same event or create the same member at once.
        lock_events(self.env, account.ids)
        # A queue or an agent still unknown may have been made by the sync or the
        # delivery this one waited for: read again, now that they are committed.
        if remote_ids - set(queues):
            queues.update(self._queues_by_remote_id(account, remote_ids - set(queues)))
        if extensions - set(users):
            users.update(account._users_by_extension(extensions - set(users)))

        now = fields.Datetime.now()
        queue_of = {rid: (queue.id, queue.name) for rid, queue in queues.items()}
        user_of = {ext: user.id for ext, user in users.items()}
        rows = []
        for event in batch:
            moment = event_moment(event["timestamp"])
            queue_id, queue_name = queue_of.get(event["queue_id"], (None, None))
            extension = event.get("agent_extension")
            user_id = user_of.get(extension)
            rows.append(
                (
                    account.id,
                    company_id,
                    queue_id,
                    event["queue_id"],
                    queue_name,
                    odoo_datetime(moment),
                    moment.timestamp(),
                    event["type"],
                    event.get("call_id"),
                    event.get("caller_number"),
                    extension,
                    event.get("agent_name"),
                    user_id,
                    bool(extension and not user_id),
                    event.get("member_type"),
                    *[event.get(name) for name in INT_FIELDS],
                    event.get("transfer_target"),
                    event["id"],
                    source,
                    # the event's fields that have a value
                    json.dumps(
                        {k: v for k, v in event.items() if v is not None},
                        ensure_ascii=False,
                    ),
                    now,
                    now,
                    *numbers.get(event.get("caller_number"), (None, None)),
                )
            )
        # Under the events lock: a large batch is written with COPY.
        key = ("account_id", "pbx_event_id")
        if len(rows) >= COPY_FROM_ROWS:
            inserted = copy_new_rows(self, self._INSERT_COLUMNS, rows, key)
        else:
            inserted = insert_new_rows(
                self, self._INSERT_COLUMNS, rows, key, "pbx_event_id"
            )
        new_ids = set(inserted)
        new_events = [event for event in batch if event["id"] in new_ids]
        # Every bus message of the batch, sent in one go at the end.
        notifications = []
        Member = self.env["axivox.queue.member"]
        Member._ingest_login_events(account, new_events, queues, users, notifications)
        Member._ingest_call_events(account, new_events, queues, users, notifications)
        batch_info = {
            "queues": queues,
            "users": users,
            "source": source,
            "company_id": company_id,
            "numbers": numbers,
            "prepared": prepared,
        }
        self._after_ingest(account, new_events, batch_info, notifications)
        if notifications:
            send_many(self.env, notifications)
        return {"applied": len(new_ids), "duplicates": len(events) - len(new_ids)}

    @api.model
    def _queues_by_remote_id(self, account, remote_ids):
        """{PBX queue id: queue} for the queues of ``account`` among ``remote_ids``
        (archived ones too)."""
        return {
            queue.remote_id: queue
            for queue in self.env["axivox.queue"]
            .with_context(active_test=False)
            .search_fetch(
                [
                    ("account_id", "=", account.id),
                    ("remote_id", "in", list(remote_ids)),
                ],
                ["remote_id", "name"],
            )
        }

    @api.model
    def _account_company(self, account):
        """``(company id, country)`` of ``account``: its company and the country its
        callers' national numbers are read in (its company's, else the current
        company's), in one query. The country has the ``code`` and ``phone_code`` of a
        res.country, or is empty."""
        self.env["axivox.account"].flush_model(["company_id"])
        self.env["res.users"].flush_model(["company_id"])
        self.env["res.company"].flush_model(["partner_id"])
        self.env["res.partner"].flush_model(["country_id"])
        allowed = self.env.context.get("allowed_company_ids")
        self.env.cr.execute(
            """
            SELECT a.company_id, c.code, c.phone_code
              FROM axivox_account a
              JOIN res_company co ON co.id = a.company_id
              JOIN res_partner p ON p.id = co.partner_id
              LEFT JOIN res_country c ON c.id = COALESCE(p.country_id, (
                   SELECT fp.country_id
                     FROM res_company fco
                     JOIN res_partner fp ON fp.id = fco.partner_id
                    WHERE fco.id = COALESCE(%(current)s, (
                          SELECT u.company_id FROM res_users u WHERE u.id = %(uid)s))))
             WHERE a.id = %(account)s
            """,
            {
                "current": allowed[0] if allowed else None,
                "uid": self.env.uid,
                "account": account.id,
            },
        )
        company_id, code, phone_code = self.env.cr.fetchone()
        return company_id, Country(code, phone_code) if code else None
