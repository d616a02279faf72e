"""The gateway between an Axivox / Asterisk PBX and the addon (runs outside Odoo).

It serves the project's PBX API (docs/openapi.yaml: REST, signed webhooks, the event
feed and stream) on top of a real Asterisk: app_queue, the dialplan, the manager
interface (AMI) and the queue_log. Run it with ``python -m axivox_gateway --help``;
``instance`` runs a private Asterisk for the demo and the tests. See docs/asterisk.md.
"""

__version__ = "1.0.0"
