"""The PBX's rules for a queue, written once: dial strings, strategies, limits.

Used by the Odoo models (validation, selection values), by the reference simulator
(which validates like the PBX) and, through the server, by the web client. Pure Python:
importable without Odoo.

The patterns are plain strings that mean the same in Python's ``re`` and in JavaScript's
``RegExp`` (``new RegExp(DIALABLE_NUMBER_PATTERN)``), so that a client can be handed the
very rule the server applies.
"""

import re

# An extension, an agent connection or disconnection code: 1 to 20 of 0-9, * and #.
DIAL_STRING_PATTERN = r"^[0-9*#]{1,20}$"
DIAL_STRING = re.compile(DIAL_STRING_PATTERN)

# What an agent may dial from the softphone: a dial string, optionally after a "+".
DIALABLE_NUMBER_PATTERN = r"^\+?[0-9*#]{1,20}$"
DIALABLE_NUMBER = re.compile(DIALABLE_NUMBER_PATTERN)

# How a queue routes its calls to its agents: (PBX value, label), in the PBX's order.
STRATEGIES = (
    ("ringall", "Call all available agents"),
    ("leastrecent", "Call the agent who has not been called for the longest time"),
    ("fewestcalls", "Call the agent who has received the fewest calls"),
    ("random", "Call a random agent"),
    ("rrmemory", "Call agents one after the other"),
    ("linear", "Call agents one after the other starting with the first in the list"),
)
STRATEGY_VALUES = tuple(value for value, _label in STRATEGIES)

# The fields that describe a queue's configuration on the PBX, in the console's order
# (the agents are not among them).
QUEUE_CONFIG_FIELDS = (
    "name",
    "extension",
    "strategy",
    "max_wait_time",
    "max_ring_time",
    "login_code",
    "logout_code",
)

MAX_WAIT_TIME = 86400  # seconds (one day): the longest a caller may wait in a queue
MAX_RING_TIME = 3600  # seconds (one hour): the longest one agent's phone may ring


def is_dial_string(value):
    """Whether ``value`` is an extension or a code the PBX accepts."""
    return isinstance(value, str) and bool(DIAL_STRING.match(value))


def is_dialable_number(value):
    """Whether an agent may dial ``value`` (a dial string, optionally after a "+")."""
    return isinstance(value, str) and bool(DIALABLE_NUMBER.match(value))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def queue_problem(remote):
    """Why Odoo cannot mirror ``remote``, a queue as the PBX lists it, or None.

    Checks what the PBX's answer must hold for Odoo to store it (types and known
    values); the limits of a queue Odoo keeps are its own constraints."""
    if not isinstance(remote, dict):
        return "not an object"
    if not isinstance(remote.get("id"), str) or not remote["id"]:
        return "no queue id"
    if not isinstance(remote.get("name"), str) or not remote["name"].strip():
        return "no name"
    for field in ("extension", "login_code", "logout_code"):
        if remote.get(field) is not None and not isinstance(remote[field], str):
            return f"{field} {str(remote[field])[:40]!r} is not a dial string"
    if remote.get("strategy") not in STRATEGY_VALUES:
        return f"unknown strategy {str(remote.get('strategy'))[:40]!r}"
    for field in ("max_wait_time", "max_ring_time"):
        if not _is_int(remote.get(field)):
            return f"{field} {str(remote.get(field))[:40]!r} is not a number of seconds"
    if remote.get("version") is not None and not _is_int(remote["version"]):
        return f"version {str(remote['version'])[:40]!r} is not a number"
    return None


def agent_problem(agent, parse_timestamp):
    """Why Odoo cannot read ``agent``, a queue membership as the PBX lists it, or None
    (``parse_timestamp`` reads ``connected_since``: events.parse_timestamp)."""
    if not isinstance(agent, dict):
        return "not an object"
    for field in ("queue_id", "extension"):
        if not isinstance(agent.get(field), str) or not agent[field]:
            return f"no {field}"
    if agent.get("type") not in ("static", "dynamic"):
        return f"unknown agent type {str(agent.get('type'))[:40]!r}"
    if not isinstance(agent.get("connected", False), bool | None):
        return f"connected {str(agent['connected'])[:40]!r} is not true or false"
    if agent.get("connected_since"):
        try:
            parse_timestamp(agent["connected_since"])
        except ValueError as exc:
            return f"connected_since: {exc}"
    return None
