"""``send_many``: the addon's way to send many bus messages at once, cheaply.

Ingestion sends one message per agent and manager of each queue a batch touches, on
every webhook delivery. ``bus.bus._sendmany`` creates them through the ORM (defaults
read, the user's company fetched, one record at a time in Python) and sends its
``NOTIFY`` through a new connection to the ``postgres`` database each time (Odoo keeps
no such connection in its pool): a connection, and a PostgreSQL backend, per delivery.
Here the messages are one INSERT, and the ``NOTIFY`` goes through one connection the
process keeps. What the web client receives is the same: the same rows, the same
channels, the same notification function (``ODOO_NOTIFY_FUNCTION``)."""
import logging
import os
import threading

import psycopg2
from psycopg2 import sql

from odoo import sql_db

from odoo.addons.bus.models.bus import (
    ODOO_NOTIFY_FUNCTION,
    channel_with_db,
    get_notify_payloads,
    json_dump,
)

# The types of the addon's bus notifications (the models import them from here), written
# once for the server and the web client: read from static/src/bus_notifications.js.
from ..bus_notifications import (  # noqa: F401
    CALLBACKS,
    CALLER_CARD,
    MEMBER_STATE,
    WALLBOARD,
)

_logger = logging.getLogger(__name__)

# Who manages a queue's company, and is told of its changes: the active users of the
# managers' group (%(managers)s, its id) allowed in that company ({company}, an SQL
# expression). Their user ids and partner ids, as a subquery.
COMPANY_MANAGERS_SQL = """
    SELECT mu.id AS user_id, mu.partner_id
      FROM res_groups_users_rel gu
      JOIN res_users mu ON mu.id = gu.uid AND mu.active
      JOIN res_company_users_rel cu ON cu.user_id = mu.id AND cu.cid = {company}
     WHERE gu.gid = %(managers)s
"""


def managers_group_id(env):
    """The id of the managers' group, for ``COMPANY_MANAGERS_SQL``."""
    return env["ir.model.data"]._xmlid_to_res_id(
        "voip_axivox_queue.group_axivox_manager"
    )


class _Notifier:
    """The ``NOTIFY imbus`` of the bus, through one connection to the ``postgres``
    database kept by the process (made again after a fork or a lost connection)."""

    query = sql.SQL("SELECT {}('imbus', %s)").format(
        sql.Identifier(ODOO_NOTIFY_FUNCTION)
    )

    def __init__(self):
        self._lock = threading.Lock()
        self._cnx = None
        self._pid = None

    def _connection(self):
        if self._cnx is None or self._cnx.closed or self._pid != os.getpid():
            _dbname, info = sql_db.connection_info_for("postgres")
            self._cnx = psycopg2.connect(**info)
            self._cnx.autocommit = True
            self._pid = os.getpid()
        return self._cnx

    def _close(self):
        if self._cnx is not None and self._pid == os.getpid():
            try:
                self._cnx.close()
            except psycopg2.Error as exc:
                _logger.debug("Closing the bus notification connection: %s", exc)
        self._cnx = None

    def notify(self, channels):
        payloads = get_notify_payloads(list(channels))
        with self._lock:
            for attempt in (1, 2):
                try:
                    with self._connection().cursor() as cr:
                        for payload in payloads:
                            cr.execute(self.query, (payload,))
                    return
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                    # The kept connection was closed (a restart of PostgreSQL, an
                    # idle timeout): once more on a new one.
                    self._close()
                    if attempt == 2:
                        # The messages are committed; the clients get them at their
                        # next notification. The delivery itself succeeded.
                        _logger.warning("Bus notification not sent: %s", exc)


NOTIFIER = _Notifier()


def send_many(env, notifications):
    """``bus.bus._sendmany(notifications)``: ``(target, type, payload)`` triples,
    stored in one INSERT and announced once the transaction of ``env`` is committed."""
    if not notifications:
        return
    dbname = env.cr.dbname
    channels = set()
    rows = []
    for target, notification_type, message in notifications:
        channel = channel_with_db(dbname, target)
        channels.add(channel)
        rows.append(
            (
                json_dump(channel),
                json_dump({"type": notification_type, "payload": message}),
            )
        )
    env["bus.bus"].flush_model()
    env.cr.execute_values(
        # No create_uid / write_uid (two foreign-key checks a message): the bus reads
        # the channel, the message and the time only.
        """INSERT INTO bus_bus (channel, message, create_date, write_date) VALUES %s""",
        rows,
        template="(%s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')",
        page_size=len(rows),
    )
    # After the commit: the clients read the new rows when they are told.
    env.cr.postcommit.add(lambda: NOTIFIER.notify(channels))
