from . import test_queue
from . import test_security
from . import test_report
from . import test_webhook
from . import test_sync
from . import test_end_to_end
from . import test_softphone
from . import test_listener
