# The odoo-bin commands axivox-listen (the PBX event stream listener) and axivox-apply
# (the webhook deliveries' applier).
from . import axivox_apply
from . import axivox_listen
