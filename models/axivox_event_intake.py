"""axivox.event.intake: how a batch of PBX events enters Odoo, in one place.

Every way in calls it: the webhook (``_take_in_committed``), the webhook applier
(``_apply``, with the deliveries the webhook stored), the event stream's listener, the
sync's backfill and the quarantine's *Apply again* (``_take_in``). The route, top to
bottom:

1. validate each event apart (``axivox_api.events.split_events``); the bad ones are
   quarantined, the others go on;
2. when the webhook applier runs, a webhook delivery is only stored for it
   (axivox.queue.event.inbox) and the route stops there; the applier later hands it to
   step 3 (``_apply``);
3. read before the lock what no other delivery changes (``_read_before_lock``): the
   account's company, its callers' contacts, the queues and agents of the batch, what
   the contact-centre layer shows;
4. take the account's events lock (``transactions.lock_events``): one ingestion per
   account at a time; read again the queues and agents still unknown
   (``_read_again_after_lock``);
5. store the events never stored before (``_store``): the others are duplicates;
6. the layers that react to the new events, in the order of ``REACTIONS``; each returns
   a ``Reaction``: its bus messages and what a later layer needs of it;
7. one bus send with every message of the batch (``bus_messages.send_many``).

The number of queries does not grow with the number of events.
"""
import collections
import dataclasses
import json

from odoo import api, fields, models

from ..axivox_api.events import INT_FIELDS, odoo_datetime, split_events
from ..transactions import lock_events, own_transaction
from .axivox_queue_event import (
    COPY_FROM_ROWS,
    copy_new_rows,
    event_moment,
    insert_new_rows,
)
from .bus_messages import send_many

# What the phone number rules read of a country (res.country's fields of the same
# names).
Country = collections.namedtuple("Country", ["code", "phone_code"])


@dataclasses.dataclass(frozen=True)
class Batch:
    """What the route read for a batch of events of one account, handed to each layer.

    ``account``: the axivox.account; ``source``: "webhook", "stream" or "sync";
    ``company_id``: the account's company; ``queues``: {PBX queue id: axivox.queue};
    ``users``: {extension: res.users}; ``numbers``: {raw caller number: (E.164 number,
    contact id or None)}; ``prepared``: what the contact-centre layer read before the
    lock (a ``ContactCentreRead``, see axivox_queue_event_contact_centre.py), or None.
    """

    account: models.BaseModel
    source: str
    company_id: int
    queues: dict
    users: dict
    numbers: dict
    prepared: object = None


@dataclasses.dataclass(frozen=True)
class Reaction:
    """What one reacting layer did with the new events of a batch: ``notifications``,
    the bus messages it produced ``(partner, type, payload)``; ``callback_queue_ids``,
    the queues whose callbacks changed; ``session_days``, the (user id, day) pairs whose
    agent sessions changed. The route adds them up, layer after layer, and hands the sum
    so far to the next one."""

    notifications: tuple = ()
    callback_queue_ids: frozenset = frozenset()
    session_days: frozenset = frozenset()

    def __add__(self, other):
        return Reaction(
            self.notifications + tuple(other.notifications),
            self.callback_queue_ids | other.callback_queue_ids,
            self.session_days | other.session_days,
        )


# The layers that react to newly stored events, in this order: (model, method). Each
# method takes (new events, Batch, the Reaction of the layers before it) and returns its
# Reaction.
REACTIONS = (
    # login states of the members (ADDMEMBER, REMOVEMEMBER)
    ("axivox.queue.member", "_react_login"),
    # who is on a queue call (CONNECT, the end or the transfer of the call)
    ("axivox.queue.member", "_react_calls"),
    # callbacks opened, updated and closed
    ("axivox.callback", "_react_callbacks"),
    # the agents' sessions, rebuilt from their logins
    ("axivox.agent.session", "_react_sessions"),
    # the agents' day report (the days whose sessions changed, computed again)
    ("axivox.agent.day.report", "_react_day_report"),
    # the caller card of the agent a caller was just connected to
    ("axivox.queue.event", "_react_caller_cards"),
    # the wallboards, and the callback lists of the softphones
    ("axivox.queue", "_react_contact_centre"),
)


class AxivoxEventIntake(models.AbstractModel):
    """How a batch of PBX events enters Odoo: validate, store, apply, react, tell."""

    _name = "axivox.event.intake"
    _description = "PBX Event Intake"

    _REACTIONS = REACTIONS

    # ------------------------------------------------------------------
    # The ways in
    # ------------------------------------------------------------------
    @api.model
    def _take_in(self, account, items, source, now=None):
        """Take in the raw ``items`` of ``account``, in the caller's transaction (the
        listener, the sync, *Apply again*): each is validated apart, the bad ones are
        quarantined, the others applied. Returns ``{"applied", "duplicates"}`` and,
        when some were set aside, ``"quarantined"``."""
        valid, rejected = split_events(items, now=now)
        result = self._apply(account, valid, source)
        return self._quarantine(account, rejected, source, result)

    @api.model
    def _take_in_committed(self, account, items, source, defer=False):
        """:meth:`_take_in` in a transaction of its own, committed before it returns
        (its snapshot starts after the account's events lock, so concurrent deliveries
        never conflict): the webhook. Raises the database error of a conflict that a
        retry would solve.

        ``defer``: when the webhook applier runs, the valid events are only stored for
        it (see axivox.queue.event.inbox), in the caller's transaction, and
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
            Intake = env[self._name]
            result = (
                {"queued": len(valid)} if stored else Intake._apply(own, valid, source)
            )
            return Intake._quarantine(own, rejected, source, result)

    @api.model
    def _quarantine(self, account, rejected, source, result):
        """Quarantine the ``rejected`` ``(raw item, reason)`` pairs; ``result`` says
        how many."""
        if rejected:
            self.env["axivox.queue.event.quarantine"]._quarantine(
                account, rejected, source
            )
            result["quarantined"] = len(rejected)
        return result

    # ------------------------------------------------------------------
    # The route of valid events
    # ------------------------------------------------------------------
    @api.model
    def _apply(self, account, events, source):
        """Store validated PBX events of ``account`` and apply their effects, in the
        caller's transaction.

        ``events`` were validated by ``axivox_api.events``. Events already stored (same
        PBX id) are acknowledged and not applied again, even when another transaction
        stores them at the same moment. Returns ``{"applied": n, "duplicates": n}``.
        """
        account.ensure_one()
        unique = {}
        for event in events:
            unique.setdefault(event["id"], event)
        unique = list(unique.values())
        if not unique:
            return {"applied": 0, "duplicates": 0}
        batch = self._read_before_lock(account, unique, source)
        # One ingestion per account at a time (webhooks, applier, stream, sync): no two
        # transactions insert the same event or create the same member at once.
        lock_events(self.env, account.ids)
        batch = self._read_again_after_lock(batch, unique)
        new_events = self._store(batch, unique)
        reaction = self._react(new_events, batch)
        if reaction.notifications:
            send_many(self.env, list(reaction.notifications))
        return {"applied": len(new_events), "duplicates": len(events) - len(new_events)}

    @api.model
    def _read_before_lock(self, account, events, source):
        """Read before the lock, which serializes the account's deliveries (the shorter
        its hold, the more deliveries a second): the caller contacts (a contact changed
        later is linked by res.partner itself), the queues, the agents and what the
        contact-centre layer shows. Returns the ``Batch``."""
        Event = self.env["axivox.queue.event"]
        company_id, country = self._account_company(account)
        numbers = Event._match_callers(events, company_id, country)
        queues = self._queues_by_remote_id(account, {e["queue_id"] for e in events})
        users = account._users_by_extension(_extensions(events))
        return Batch(
            account=account,
            source=source,
            company_id=company_id,
            queues=queues,
            users=users,
            numbers=numbers,
            prepared=Event._read_before_lock(account, events, queues, users, numbers),
        )

    @api.model
    def _read_again_after_lock(self, batch, events):
        """A queue or an agent still unknown may have been made by the sync or the
        delivery this one waited for: read again, now that they are committed."""
        remote_ids = {e["queue_id"] for e in events} - set(batch.queues)
        extensions = _extensions(events) - set(batch.users)
        if not remote_ids and not extensions:
            return batch
        queues, users = dict(batch.queues), dict(batch.users)
        if remote_ids:
            queues.update(self._queues_by_remote_id(batch.account, remote_ids))
        if extensions:
            users.update(batch.account._users_by_extension(extensions))
        return dataclasses.replace(batch, queues=queues, users=users)

    @api.model
    def _store(self, batch, events):
        """Store ``events`` (unique ids) in one statement, under the events lock.
        Returns those stored for the first time, in their order."""
        Event = self.env["axivox.queue.event"]
        now = fields.Datetime.now()
        queue_of = {rid: (queue.id, queue.name) for rid, queue in batch.queues.items()}
        user_of = {ext: user.id for ext, user in batch.users.items()}
        rows = []
        for event in events:
            moment = event_moment(event["timestamp"])
            queue_id, queue_name = queue_of.get(event["queue_id"], (None, None))
            extension = event.get("agent_extension")
            user_id = user_of.get(extension)
            rows.append(
                (
                    batch.account.id,
                    batch.company_id,
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
                    batch.source,
                    # the event's fields that have a value
                    json.dumps(
                        {k: v for k, v in event.items() if v is not None},
                        ensure_ascii=False,
                    ),
                    now,
                    now,
                    *batch.numbers.get(event.get("caller_number"), (None, None)),
                )
            )
        # Under the events lock: a large batch is written with COPY.
        key = ("account_id", "pbx_event_id")
        if len(rows) >= COPY_FROM_ROWS:
            inserted = copy_new_rows(Event, Event._INSERT_COLUMNS, rows, key)
        else:
            inserted = insert_new_rows(
                Event, Event._INSERT_COLUMNS, rows, key, "pbx_event_id"
            )
        new_ids = set(inserted)
        return [event for event in events if event["id"] in new_ids]

    @api.model
    def _react(self, new_events, batch):
        """The layers of ``REACTIONS``, in order, with the newly stored events.
        Returns the sum of their ``Reaction``."""
        reaction = Reaction()
        if not new_events:
            return reaction
        for model, method in self._REACTIONS:
            reaction += getattr(self.env[model], method)(new_events, batch, reaction)
        return reaction

    # ------------------------------------------------------------------
    # What the route reads
    # ------------------------------------------------------------------
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


def _extensions(events):
    return {e["agent_extension"] for e in events if e.get("agent_extension")}
