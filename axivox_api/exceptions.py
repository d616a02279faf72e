"""Errors raised by the Axivox API client.

Every error carries ``status`` (HTTP status or ``None`` for transport errors),
``code`` (the API's snake_case error code, or a client-side one such as
``timeout``) and ``message``: one sentence a user can read. Messages never
contain the API key or the webhook secret.
"""


class AxivoxError(Exception):
    """Base class of every error raised by :mod:`axivox_api`."""

    default_message = "The PBX returned an unexpected error."
    default_code = "error"

    def __init__(self, message=None, status=None, code=None, field=None):
        self.message = message or self.default_message
        self.status = status
        self.code = code or self.default_code
        self.field = field
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def __repr__(self):
        return "{}(status={!r}, code={!r}, message={!r})".format(
            type(self).__name__,
            self.status,
            self.code,
            self.message,
        )


class AxivoxAuthError(AxivoxError):
    """401/403: the API key is missing, wrong or not allowed to do this."""

    default_message = "The PBX refused the API key (check the API URL and key)."
    default_code = "unauthorized"


class AxivoxNotFound(AxivoxError):
    """404: the queue, agent, call or route does not exist."""

    default_message = "The PBX does not know this object."
    default_code = "not_found"


class AxivoxConflict(AxivoxError):
    """409: stale version, object already exists, or the state forbids it."""

    default_message = "The PBX refused the change because of a conflict."
    default_code = "conflict"


class AxivoxValidationError(AxivoxError):
    """400/422: the request was malformed or a field is invalid (``.field``)."""

    default_message = "The PBX rejected the request as invalid."
    default_code = "validation_error"


class AxivoxRateLimited(AxivoxError):
    """429: too many requests; ``retry_after`` is in seconds (float or None)."""

    default_message = "The PBX is receiving too many requests; try again shortly."
    default_code = "rate_limited"

    def __init__(
        self, message=None, status=429, code=None, field=None, retry_after=None
    ):
        super().__init__(message, status, code, field)
        self.retry_after = retry_after


class AxivoxUnavailable(AxivoxError):
    """Connection error, timeout or 5xx: the PBX could not serve the request."""

    default_message = "The PBX is unavailable right now; try again later."
    default_code = "unavailable"
