"""Ingress errors: the app's JSON error shape for every refusal, and 503 when the database is
unreachable, so that a sender retries and never takes a failure for a delivery."""

from __future__ import annotations

import logging

from flask import Response
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from app.errors import error_response
from app.hooks.blueprint import bp
from app.services import errors

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER = "5"


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    response, _ = error_response(status, code, message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.errorhandler(errors.ServiceError)
def _service_error(exc: errors.ServiceError) -> Response:
    if isinstance(exc, errors.NotFound):
        return json_error(404, "not_found", "No webhook at this address.")
    if isinstance(exc, errors.MethodNotAllowed):
        allow = ", ".join(exc.allowed)
        return json_error(405, "method_not_allowed", str(exc), {"Allow": allow})
    if isinstance(exc, errors.Unauthorized):
        return json_error(401, "unauthorized", str(exc))
    if isinstance(exc, errors.TooManyRequests):
        return json_error(429, "rate_limited", str(exc), {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, errors.PayloadTooLarge):
        return json_error(413, "payload_too_large", str(exc))
    if isinstance(exc, errors.Conflict):
        return json_error(409, "conflict", str(exc))
    return json_error(400, "bad_request", str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 413:
        return json_error(413, "payload_too_large", "The request body is too large.")
    code = (exc.name or "error").lower().replace(" ", "_")
    return json_error(status, code, exc.description or exc.name or "Error")


@bp.errorhandler(DBAPIError)
def _database_down(exc: DBAPIError) -> Response:
    # The view's own session is closed (rolled back) already; the pool dropped a dead connection.
    log.warning("webhook refused, database unavailable: %s", type(exc.orig).__name__)
    return json_error(
        503,
        "unavailable",
        "The service cannot store this delivery right now; retry later.",
        {"Retry-After": DATABASE_RETRY_AFTER},
    )
