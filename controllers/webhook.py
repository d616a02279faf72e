"""The signed webhook the PBX posts its queue events to, and the health-check route."""
import json
import logging

import psycopg2

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..axivox_api import signature
from ..axivox_api.events import EventSchemaError, batch_items
from ..transactions import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024  # a batch of a few thousand events
SIGNATURE_TOLERANCE = 300  # seconds
RETRY_AFTER = 2  # seconds, on a conflict that a retry solves


class AxivoxWebhookController(http.Controller):
    """Receives the signed queue events the PBX posts; the models do the work."""

    @http.route(
        "/voip_axivox_queue/ping",
        type="http",
        auth="none",
        methods=["GET"],
        save_session=False,
    )
    def ping(self):
        """Health check for monitoring, and the baseline of bench/ (Odoo's HTTP
        ceiling)."""
        return request.make_json_response({"ok": True})

    @http.route(
        "/voip_axivox_queue/webhook/<string:token>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        # Odoo reads form and multipart bodies before the route runs: at most this
        # much of them (413 beyond)
        max_content_length=MAX_BODY_BYTES,
    )
    def webhook(self, token, **_form):
        # _form: what Odoo read of a form body (refused below, 415)
        # No session, no user: the URL token names the account and its secret proves the
        # sender. The work is done as the superuser, after the signature is verified.
        httprequest = request.httprequest
        length = httprequest.content_length
        if length is None or length > MAX_BODY_BYTES:
            return _answer(
                413 if length else 411,
                error="payload_too_large" if length else "length_required",
                message=f"The body must state its length and be at most "
                f"{MAX_BODY_BYTES} bytes.",
            )
        if httprequest.mimetype != "application/json":
            return _answer(
                415,
                error="unsupported_media_type",
                message="The body must be JSON (Content-Type: application/json).",
            )
        # Cached: Odoo serves a request again after a serialization failure, and the
        # signature must then be checked on the same bytes.
        body = httprequest.get_data(cache=True)
        env = request.env(user=SUPERUSER_ID)
        account, secrets = env["axivox.account"]._webhook_account(token)
        try:
            if not account or not secrets:
                raise signature.SignatureError("unknown account", "unknown_account")
            _verify(secrets, httprequest.headers, body)
        except signature.SignatureError as exc:
            _logger.info("Refused a webhook delivery: %s", exc.reason)
            # Unknown account and bad signature get the same answer.
            return _answer(
                401,
                error="invalid_signature",
                message="The request is not signed by a known PBX account.",
            )
        # A delivery is processed once: a captured request sent again (within the
        # signature's tolerance), or a retry of a delivery processed already, is
        # acknowledged and changes nothing.
        delivery = httprequest.headers.get(signature.DELIVERY_HEADER) or (
            "signature:" + httprequest.headers.get(signature.SIGNATURE_HEADER, "")
        )
        Delivery = env["axivox.webhook.delivery"]
        if not Delivery._note(account, delivery):
            _logger.info(
                "Webhook delivery for PBX account %s received again: ignored",
                account.id,
            )
            return _answer(200, replayed=True)
        try:
            payload = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            return _answer(
                400, error="malformed_json", message="The body is not valid JSON."
            )
        try:
            items = batch_items(payload)
        except EventSchemaError as exc:
            return _answer(422, error="invalid_event", message=str(exc))
        # The batch enters Odoo by axivox.event.intake: each event is validated apart,
        # a bad one is quarantined, the others applied (or, when an applier runs,
        # stored for it to apply: axivox.queue.event.inbox).
        try:
            result = env["axivox.event.intake"]._take_in_committed(
                account, items, "webhook", defer=True
            )
        except (psycopg2.IntegrityError, psycopg2.OperationalError) as exc:
            if (
                isinstance(exc, psycopg2.OperationalError)
                and exc.pgcode not in CONCURRENCY_ERRORS
            ):
                raise
            # Nothing was stored; the PBX retries a 5xx, and the retry will succeed:
            # the delivery is not remembered either (this transaction may have failed
            # with the conflict).
            env.cr.rollback()
            _logger.info(
                "Webhook delivery for PBX account %s conflicted with another "
                "transaction (%s): answered 503",
                account.id,
                exc.pgcode,
            )
            return _answer(
                503,
                error="conflict",
                headers=[("Retry-After", str(RETRY_AFTER))],
                message="Odoo was changing the same records; send it again.",
            )
        return _answer(200, **result)


def _verify(secrets, headers, body):
    """Check the signature with each secret the account accepts now (its secret, then
    the one before the last rotation); raises the first refusal when none signed it."""
    refusal = None
    for secret in secrets:
        try:
            signature.verify(
                secret,
                headers.get(signature.TIMESTAMP_HEADER),
                headers.get(signature.SIGNATURE_HEADER),
                body,
                tolerance=SIGNATURE_TOLERANCE,
            )
            return
        except signature.SignatureError as exc:
            refusal = refusal or exc
    raise refusal


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _answer(status, headers=None, **data):
    if "error" in data:
        data = {"error": {"code": data["error"], "message": data["message"]}}
    return request.make_json_response(data, headers=headers, status=status)
