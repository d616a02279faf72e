"""The running PBX simulator: the shared server (``axivox_server.service``) on a
simulated PBX (``state.PBXState``), started from a data file and reset to it on
demand."""

from . import __version__
from ._serving import service
from .state import PBXState


class Simulator(service.PBXService):
    """The simulator: a PBX API server whose PBX is simulated."""

    version = __version__
    user_agent = "axivox-simulator"

    def __init__(self, config):
        self.initial_data = self.read_data(config["data"])
        super().__init__(
            config,
            PBXState(self.initial_data, announce_seconds=config["announce_seconds"]),
        )

    def reset(self, data=None):
        self.state.load_data(data if data is not None else self.initial_data)
        self._reset_runtime()
        self._notify()
