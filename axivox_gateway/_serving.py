"""The parts of the API server (``axivox_server``: aiohttp) the gateway runs on, and the
simulator's demo data (users and queues) it starts with by default,
imported as ``_compat`` imports the rest."""
try:
    from ..axivox_server import app  # noqa: F401
    from ..axivox_server.service import PBXService  # noqa: F401
    from ..axivox_simulator import DEMO_DATA  # noqa: F401
except (ImportError, ValueError):  # top-level package: no parent to import from
    from axivox_server import app  # noqa: F401
    from axivox_server.service import PBXService  # noqa: F401
    from axivox_simulator import DEMO_DATA  # noqa: F401
