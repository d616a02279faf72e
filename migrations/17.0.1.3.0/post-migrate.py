"""17.0.1.3.0: the indexes of one column that earlier versions made on the
queue report lines and no query uses (each one slowed every insert) are dropped. The
unique (account_id, pbx_event_id) and the agent-day index serve the first two, the next
two are searched with "contains", the PBX queue id is only looked up for the events
whose queue was not known yet (axivox_queue_event_unmapped_idx), and the caller's
number leads axivox_queue_event_caller_idx."""
from odoo.tools.sql import drop_index

REDUNDANT_INDEXES = (
    "account_id",
    "agent_user_id",
    "queue_name",
    "caller_number",
    "queue_remote_id",
    "caller_e164",
)


def migrate(cr, version):
    if not version:
        return
    for column in REDUNDANT_INDEXES:
        drop_index(cr, f"axivox_queue_event__{column}_index", "axivox_queue_event")
