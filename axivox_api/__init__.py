"""Pure-Python client for Axivox-compatible PBX APIs.

This package must stay importable without Odoo: it is imported both as
``odoo.addons.voip_axivox_queue.axivox_api`` and as a top-level ``axivox_api``
package by the standalone tests. Only relative imports are used inside it.

Heavy modules (``client`` needs requests, ``stream`` needs websocket-client) are
not imported here; import them explicitly.
"""
from .exceptions import (  # noqa: F401
    AxivoxError,
    AxivoxAuthError,
    AxivoxNotFound,
    AxivoxConflict,
    AxivoxValidationError,
    AxivoxRateLimited,
    AxivoxUnavailable,
)
from .events import (  # noqa: F401
    EVENT_TYPES,
    EVENT_LABELS,
    EventSchemaError,
    validate_event,
    validate_batch,
    parse_timestamp,
    odoo_datetime,
    format_timestamp,
)
from .rules import (  # noqa: F401
    DIAL_STRING_PATTERN,
    DIALABLE_NUMBER_PATTERN,
    STRATEGIES,
    QUEUE_CONFIG_FIELDS,
    is_dial_string,
    is_dialable_number,
)
from .signature import (  # noqa: F401
    SignatureError,
    sign,
    verify,
    signed_headers,
    TIMESTAMP_HEADER,
    SIGNATURE_HEADER,
    DELIVERY_HEADER,
)
