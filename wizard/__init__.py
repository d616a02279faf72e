"""The wizards: connect an agent, the queue report's filters, close callbacks."""

from . import axivox_queue_connect_wizard
from . import axivox_queue_report_wizard
from . import axivox_callback_close_wizard
