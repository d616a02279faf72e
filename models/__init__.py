from . import axivox_account
from . import axivox_queue
from . import axivox_queue_member
from . import axivox_queue_event
from . import axivox_queue_event_type
from . import res_users
from . import ir_http
from . import res_config_settings
