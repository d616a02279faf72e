# The odoo-bin command axivox-listen (the PBX event stream listener).
from . import axivox_listen
