"""Import the sibling packages ``axivox_api`` and ``axivox_server`` whether this package
is loaded inside the addon or as top-level ``axivox_gateway`` (``python -m
axivox_gateway`` with the addon root on ``sys.path``)."""
try:
    from ..axivox_api import events  # noqa: F401
    from ..axivox_server import app  # noqa: F401
    from ..axivox_server.errors import PBXError, invalid, iso, utcnow  # noqa: F401
    from ..axivox_server.pbx import CODE_MESSAGES, PBXModel  # noqa: F401
    from ..axivox_server.service import PBXService  # noqa: F401
except (ImportError, ValueError):  # top-level package: no parent to import from
    from axivox_api import events  # noqa: F401
    from axivox_server import app  # noqa: F401
    from axivox_server.errors import PBXError, invalid, iso, utcnow  # noqa: F401
    from axivox_server.pbx import CODE_MESSAGES, PBXModel  # noqa: F401
    from axivox_server.service import PBXService  # noqa: F401
