"""Import the sibling ``axivox_api`` package whether this package is loaded as
``odoo.addons.voip_axivox_queue.axivox_server`` or as top-level ``axivox_server`` (the
simulator and the gateway run with the addon root on ``sys.path``)."""
try:
    from ..axivox_api import events, rules, signature  # noqa: F401
except (ImportError, ValueError):  # top-level package: no parent to import from
    from axivox_api import events, rules, signature  # noqa: F401
