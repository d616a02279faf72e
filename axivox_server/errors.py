"""The simulator's API error (status, code, message, field: the body the real API
sends) and its clock, shared by the state, the calls and the HTTP layer."""

import datetime

from ._compat import events as ev


class PBXError(Exception):
    """An API error: HTTP status, snake_case code, readable message, field."""

    def __init__(self, status, code, message, field=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def invalid(field, message):
    return PBXError(422, "validation_error", message, field=field)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(dt):
    return ev.format_timestamp(dt)
