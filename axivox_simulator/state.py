"""The simulated PBX: the shared PBX model (``axivox_server.pbx``) with simulated
calls (``calls``); ``traffic`` generates queue calls on it."""

from ._compat import PBXModel
from .calls import PBXCalls


class PBXState(PBXCalls, PBXModel):
    """The simulator's PBX: users, queues, agents, the event feed and its calls."""
