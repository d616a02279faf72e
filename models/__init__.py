# The models. A file named exactly after a model defines it
# (axivox_queue_event_inbox.py: axivox.queue.event.inbox); <model>_<aspect>.py adds one
# aspect to the model defined in <model>.py (axivox_queue_event_contact_centre.py: the
# contact-centre part of axivox.queue.event). res_*.py and ir_*.py extend Odoo's models
# of those names.
from . import axivox_account
from . import axivox_account_sync
from . import axivox_account_auto_logout
from . import axivox_account_owned_mixin
from . import axivox_queue
from . import axivox_queue_pbx
from . import axivox_queue_kpi
from . import axivox_queue_member
from . import axivox_queue_event
from . import axivox_event_intake
from . import axivox_queue_event_type
from . import res_users
from . import ir_http
from . import res_config_settings
from . import axivox_queue_report
from . import axivox_agent_session
from . import axivox_queue_event_contact_centre
from . import axivox_queue_call
from . import res_partner
from . import axivox_callback
from . import axivox_callback_ingest
from . import axivox_queue_contact_centre
from . import axivox_agent_day_report
from . import axivox_queue_event_quarantine
from . import axivox_rate_limit
from . import axivox_softphone
from . import axivox_softphone_contact_centre
from . import axivox_queue_event_inbox
from . import axivox_webhook_delivery
