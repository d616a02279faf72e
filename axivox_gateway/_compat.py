"""Import the sibling packages ``axivox_api`` and ``axivox_server`` whether this package
is loaded inside the addon or as top-level ``axivox_gateway`` (``python -m
axivox_gateway`` with the addon root on ``sys.path``). Nothing here imports aiohttp:
the server's parts are in ``_serving``."""
try:
    from ..axivox_api import events  # noqa: F401
    from ..axivox_server.errors import PBXError, invalid, iso, utcnow  # noqa: F401
    from ..axivox_server.pbx import CODE_MESSAGES, PBXModel  # noqa: F401
except (ImportError, ValueError):  # top-level package: no parent to import from
    from axivox_api import events  # noqa: F401
    from axivox_server.errors import PBXError, invalid, iso, utcnow  # noqa: F401
    from axivox_server.pbx import CODE_MESSAGES, PBXModel  # noqa: F401
