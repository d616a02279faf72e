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
