"""The transport under the PBX API client (``client.AxivoxClient``): one
``requests.Session``, a fixed timeout, retries with exponential backoff on
429 / 5xx / connection errors for idempotent requests only (GET, PUT,
DELETE, and POSTs that carry an ``Idempotency-Key``), and errors mapped to
:mod:`axivox_api.exceptions`. The API key is never logged nor put in an
error message.

Works with requests 2.25 (Odoo 17's pin) and current versions.
"""
import contextlib
import datetime
import email.utils
import logging
import random
import time
import uuid
from urllib.parse import quote, urlsplit

import requests

from .exceptions import (
    AxivoxAuthError,
    AxivoxConflict,
    AxivoxError,
    AxivoxNotFound,
    AxivoxRateLimited,
    AxivoxUnavailable,
    AxivoxValidationError,
)

# The client's logger: Odoo's log configuration and the tests know it by that name.
_logger = logging.getLogger(__name__.rpartition(".")[0] + ".client")

API_PREFIX = "/api/v1"
# The largest answer read from the PBX (bytes): a larger one is refused, not kept in
# memory (a report export of a busy month is a few megabytes).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))
USER_AGENT = "voip_axivox_queue/17.0 (+axivox_api)"


def normalize_base_url(base_url):
    """``https://pbx.example.com/`` or ``.../api/v1`` -> ``https://pbx.example.com``."""
    url = (base_url or "").strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AxivoxValidationError(
            f"The PBX API URL must start with http:// or https:// (got {base_url!r}).",
            code="invalid_base_url",
            field="base_url",
        )
    return url


def _parse_retry_after(value):
    if not value:
        return None
    value = value.strip()
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(
        0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    )


class AxivoxTransport:
    """HTTP to one PBX account (``AxivoxClient`` adds the API's calls).

    :param base_url: PBX root URL, e.g. ``https://pbx.example.com`` (a trailing
        ``/api/v1`` is accepted and removed).
    :param api_key: the account's API key (sent as ``Authorization: Bearer``).
    :param timeout: seconds, for the connection and for each read.
    :param deadline: seconds a call may take in all, retries and waits included; the
        call is given up (``AxivoxUnavailable``, code ``timeout``) when it would last
        longer. ``None``: no total limit.
    :param max_retries: extra attempts after the first one (idempotent requests).
    :param backoff: first retry delay in seconds, doubled at each retry.
    :param max_retry_after: a 429 asking to wait longer than this is raised
        immediately instead of sleeping (keeps Odoo workers responsive).
    :param max_response: the largest answer read, in bytes; a larger one is an
        :class:`AxivoxError` (code ``response_too_large``), not retried.
    """

    def __init__(
        self,
        base_url,
        api_key,
        timeout=10,
        max_retries=3,
        backoff=0.5,
        session=None,
        max_retry_after=30.0,
        user_agent=USER_AGENT,
        deadline=None,
        max_response=MAX_RESPONSE_BYTES,
    ):
        if not api_key:
            raise AxivoxAuthError(
                "No PBX API key is configured.", code="missing_api_key"
            )
        self.base_url = normalize_base_url(base_url)
        self._api_key = api_key
        self.timeout = timeout
        self.deadline = deadline
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.max_response = max_response
        self.session = session or requests.Session()
        self._owns_session = session is None
        self._user_agent = user_agent

    def __repr__(self):
        return f"{type(self).__name__}({self.base_url!r})"

    def close(self):
        if self._owns_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ core
    def _url(self, path):
        return self.base_url + API_PREFIX + path

    def _headers(self, extra=None):
        headers = {
            "Authorization": "Bearer " + self._api_key,
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        if extra:
            headers.update(extra)
        return headers

    def _scrub(self, text):
        text = str(text)
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text

    def _sleep(self, seconds):
        if seconds > 0:
            time.sleep(seconds)

    def _delay(self, attempt):
        base = self.backoff * (2**attempt)
        return base + random.uniform(0, base / 4.0)

    def request(
        self,
        method,
        path,
        params=None,
        json=None,
        headers=None,
        idempotency_key=None,
        raw=False,
    ):
        """Send one API call (with retries) and return the decoded JSON.

        ``path`` is relative to ``/api/v1``. Returns ``None`` for 204,
        the ``requests.Response`` when ``raw`` is true.
        """
        method = method.upper()
        extra = dict(headers or {})
        if idempotency_key:
            extra["Idempotency-Key"] = idempotency_key
        retryable = method in IDEMPOTENT_METHODS or bool(idempotency_key)
        attempts = 1 + (self.max_retries if retryable else 0)
        url = self._url(path)
        last_error = None
        end = None if self.deadline is None else time.monotonic() + self.deadline
        for attempt in range(attempts):
            start = time.monotonic()
            timeout = self.timeout
            if end is not None:
                if end - start <= 0:
                    last_error = last_error or self._timeout_error()
                    break
                timeout = min(self.timeout, end - start)
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=self._headers(extra),
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
                self._read_body(response, end)
            except requests.Timeout:
                _logger.debug(
                    "PBX %s %s -> timeout after %.0f ms",
                    method,
                    path,
                    (time.monotonic() - start) * 1000,
                )
                last_error = self._timeout_error(timeout)
            except requests.ConnectionError:
                _logger.debug("PBX %s %s -> connection error", method, path)
                last_error = AxivoxUnavailable(
                    "Could not connect to the PBX at %s." % self.base_url,
                    code="connection_error",
                )
            except requests.RequestException as exc:
                raise AxivoxError(
                    "The request to the PBX failed: %s."
                    % self._scrub(type(exc).__name__),
                    code="request_error",
                ) from exc
            else:
                duration = (time.monotonic() - start) * 1000
                _logger.debug(
                    "PBX %s %s -> %s in %.0f ms",
                    method,
                    path,
                    response.status_code,
                    duration,
                )
                if response.status_code < 400:
                    return self._decode(response, raw)
                last_error = self._error_from_response(response)
                if not isinstance(last_error, AxivoxUnavailable | AxivoxRateLimited):
                    raise last_error
            if attempt + 1 >= attempts:
                break
            if (
                isinstance(last_error, AxivoxRateLimited)
                and last_error.retry_after is not None
            ):
                if last_error.retry_after > self.max_retry_after:
                    break
                delay = last_error.retry_after
            else:
                delay = self._delay(attempt)
            if end is not None and time.monotonic() + delay >= end:
                break  # the wait would pass the deadline: give up now
            _logger.debug(
                "PBX %s %s: retry %d/%d in %.2f s",
                method,
                path,
                attempt + 1,
                attempts - 1,
                delay,
            )
            self._sleep(delay)
        raise last_error

    @staticmethod
    def _decode(response, raw):
        """A successful answer: the response itself when ``raw``, None when empty,
        else its JSON."""
        if raw:
            return response
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise AxivoxError(
                "The PBX sent a response that is not JSON.",
                status=response.status_code,
                code="invalid_response",
            ) from None

    def _timeout_error(self, seconds=None):
        seconds = self.timeout if seconds is None else seconds
        if self.deadline is not None:
            seconds = min(self.deadline, max(seconds, 0))
        return AxivoxUnavailable(
            "The PBX did not answer within %s seconds." % round(seconds, 1),
            code="timeout",
        )

    def _too_large(self):
        return AxivoxError(
            "The PBX sent an answer larger than %d MB: Odoo did not read it."
            % (self.max_response // (1024 * 1024)),
            code="response_too_large",
        )

    def _read_body(self, response, end):
        """Read the whole body now, giving up when the call passes its deadline or
        the body grows past ``max_response``."""
        chunks = []
        size = 0
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_response:
                raise self._too_large()
            for chunk in response.iter_content(16384):
                size += len(chunk)
                if size > self.max_response:
                    raise self._too_large()
                chunks.append(chunk)
                if end is not None and time.monotonic() > end:
                    raise requests.Timeout("deadline")
        except (requests.RequestException, AxivoxError):
            response.close()
            raise
        except Exception as exc:  # urllib3 errors while reading: a broken connection
            response.close()
            raise requests.ConnectionError(type(exc).__name__) from None
        response._content = b"".join(chunks)
        response._content_consumed = True
        response.close()

    def _error_from_response(self, response):
        status = response.status_code
        code = None
        message = None
        field = None
        with contextlib.suppress(ValueError):  # not JSON: the status tells
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                code = error.get("code")
                message = error.get("message")
                field = error.get("field")
        if message:
            message = self._scrub(message)
        kwargs = dict(message=message, status=status, code=code, field=field)
        if status in (401, 403):
            return AxivoxAuthError(**kwargs)
        if status == 404:
            return AxivoxNotFound(**kwargs)
        if status == 409:
            return AxivoxConflict(**kwargs)
        if status in (400, 422):
            return AxivoxValidationError(**kwargs)
        if status == 429:
            return AxivoxRateLimited(
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
                **kwargs,
            )
        if status >= 500 or status == 408:
            if not message:
                kwargs["message"] = (
                    "The PBX is unavailable right now (HTTP %d); try again later."
                    % status
                )
            return AxivoxUnavailable(**kwargs)
        if not message:
            kwargs["message"] = (
                "The PBX returned an unexpected error (HTTP %d)." % status
            )
        return AxivoxError(**kwargs)

    @staticmethod
    def _list(body, key, item_keys=()):
        """``body[key]``, checked to be a list of objects having ``item_keys``: a
        malformed answer is an :class:`AxivoxError` (code ``invalid_response``), never a
        KeyError."""
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and all(k in item for k in item_keys)
            for item in items
            if key != "events"
        ):
            raise AxivoxError(
                "The PBX sent a malformed answer (no list of %s)." % key,
                code="invalid_response",
            )
        return items

    @staticmethod
    def _seg(value):
        return quote(str(value), safe="")

    @staticmethod
    def _new_key():
        return str(uuid.uuid4())
