# The HTTP routes: the signed webhook receiver, the queue report's CSV export.
from . import report
from . import webhook
