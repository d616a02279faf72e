"""``send_many``: the addon's bus messages, sent through Odoo's bus API.

Ingestion sends one message per agent and manager of each queue a batch touches;
``bus.bus._sendmany`` stores them in the transaction of ``env`` and announces them
(``NOTIFY imbus``) once it is committed, none if it is rolled back. A sending of its own
(one INSERT, the ``NOTIFY`` through a connection kept by each process) made no
difference a user sees on the product (``bench/bus_bench.sh``, docs/benchmarks.md)."""

# The types of the addon's bus notifications (the models import them from here), written
# once for the server and the web client: read from static/src/bus_notifications.js.
from ..bus_notifications import (  # noqa: F401
    CALLBACKS,
    CALLER_CARD,
    MEMBER_STATE,
    WALLBOARD,
)

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


def send_many(env, notifications):
    """``(target, type, payload)`` triples sent to the bus in the transaction of
    ``env``: stored with it, announced after its commit."""
    if notifications:
        env["bus.bus"]._sendmany(notifications)
