"""The parts of the API server (``axivox_server``: aiohttp) the gateway runs on,
imported as ``_compat`` imports the rest."""
try:
    from ..axivox_server import app  # noqa: F401
    from ..axivox_server.service import PBXService  # noqa: F401
except (ImportError, ValueError):  # top-level package: no parent to import from
    from axivox_server import app  # noqa: F401
    from axivox_server.service import PBXService  # noqa: F401
