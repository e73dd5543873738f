"""API errors: one JSON shape, `{"error": {"code", "message", "field"?}}`, for every 4xx.

Views and helpers raise `ApiError` (or a service error); a Pydantic ValidationError becomes 422
naming the field as a dotted path (`steps.1.config.url`). Service errors, routing errors (404,
405) and other HTTP errors are answered by the app-level handlers (`app.errors`) in the same
shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from app.api.blueprint import bp
from app.errors import json_error
from app.services.errors import InvalidInputError


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
    return json_error(InvalidInputError.status, InvalidInputError.code, message, field)
