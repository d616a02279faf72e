from . import report
from . import webhook
