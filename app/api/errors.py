"""API errors: one JSON shape, `{"error": {"code", "message", "field"?}}`, for every 4xx.

Views and helpers raise `ApiError`; a Pydantic ValidationError becomes 422 naming the field as a
dotted path (`steps.1.config.url`); the services' errors map to their statuses here. Routing
errors (404, 405) and other HTTP errors are answered by the app-level handlers in the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.api.blueprint import bp
from app.errors import error_response
from app.services import errors as service_errors


def json_error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response, _ = error_response(status, code, message, field)
    response.status_code = status
    response.headers.update(headers or {})
    return response


class ApiError(HTTPException):
    """An HTTP error answered with the API's JSON error shape (and optional headers).

    An HTTPException carrying its response, so that it answers correctly wherever it is raised
    (a view, a before_request hook, the rate limiter's key function)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.code = status
        self.error_code = code
        self.field = field
        super().__init__(message, json_error(status, code, message, field, headers))


def field_path(location: tuple[int | str, ...]) -> str | None:
    """Pydantic's error location as a dotted path: ('steps', 1, 'url') → `steps.1.url`."""
    return ".".join(str(part) for part in location) or None


def validation_message(exc: ValidationError) -> tuple[str, str | None]:
    """The first problem's message and field; the message counts any others."""
    problems = exc.errors(include_url=False, include_input=False)
    if not problems:
        return "The request is not valid.", None
    first = problems[0]
    message = first["msg"]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return message, field_path(tuple(first["loc"]))


@bp.errorhandler(ValidationError)
def _handle_validation(exc: ValidationError) -> Response:
    message, field = validation_message(exc)
    return json_error(422, "validation_error", message, field)


@bp.errorhandler(RequestEntityTooLarge)
def _handle_too_large(exc: RequestEntityTooLarge) -> Response:
    return json_error(413, "payload_too_large", "The request body is too large.")


@bp.errorhandler(service_errors.ServiceError)
def _handle_service_error(exc: service_errors.ServiceError) -> Response:
    if isinstance(exc, service_errors.ValidationFailed):
        return json_error(422, "validation_error", exc.message, exc.field)
    if isinstance(exc, service_errors.NotFound):
        return json_error(404, "not_found", str(exc) or "No such object.")
    if isinstance(exc, service_errors.Conflict):
        return json_error(409, "conflict", str(exc))
    if isinstance(exc, service_errors.PayloadTooLarge):
        return json_error(413, "payload_too_large", str(exc))
    if isinstance(exc, service_errors.TooManyRequests):  # back-pressure: the queue is full
        headers = {"Retry-After": str(exc.retry_after)}
        return json_error(429, "rate_limited", str(exc), headers=headers)
    return json_error(400, "bad_request", str(exc))
