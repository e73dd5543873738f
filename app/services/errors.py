"""The errors services raise: one family under `ServiceError`, each with its HTTP status and a
machine code. `app.errors` turns any of them into a page or the API's JSON error shape, in one
place; views catch one only to answer differently (a form shown again with its message, say)."""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """Root of the service errors. `message` is for people; `code` is for programs."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request cannot be processed."

    def __init__(self, message: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message or self.default_message
        self.field = field

    @property
    def headers(self) -> dict[str, str]:
        """Headers the answer must carry (Allow, Retry-After…)."""
        return {}


class BadRequestError(ServiceError):
    """The request cannot be read (malformed or too deeply nested JSON, say)."""


class InvalidInputError(ServiceError):
    """Input was refused. `field` is a dotted path such as `steps.1.config.url`."""

    status = 422
    code = "validation_error"
    default_message = "The request is not valid."


class UnauthorizedError(ServiceError):
    """The request's signature or secret is missing, wrong or stale."""

    status = 401
    code = "unauthorized"
    default_message = "The request is not authenticated."


class NotFoundError(ServiceError):
    """The object does not exist or belongs to another user (the same answer for both)."""

    status = 404
    code = "not_found"
    default_message = "No such object."


class MethodNotAllowedError(ServiceError):
    """The HTTP method is not one the trigger accepts; `allowed` lists those it does."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class ConflictError(ServiceError):
    """The request conflicts with the object's state (e.g. re-running a live execution)."""

    status = 409
    code = "conflict"


class PayloadTooLargeError(ServiceError):
    """Trigger data is over the configured cap."""

    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class TooManyRequestsError(ServiceError):
    """Refused for now (a rate limit, or the queue is full); try again after `retry_after` s."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class PreconditionFailedError(ServiceError):
    """A write named the version it was based on (If-Match, the editor's Save) and the object
    has moved on since: someone else saved first. Carries who and when, for the message."""

    status = 412
    code = "precondition_failed"

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version

    @property
    def headers(self) -> dict[str, str]:
        return {"ETag": f'"{self.current_version}"'}


def found_id(value: int, what: str, bits: int = 31) -> None:
    """NotFoundError(what) for an id no row can have (not positive, or past the column's
    `bits`): such an id is missing like any other, never a database error (PostgreSQL cannot
    even compare it with an integer column)."""
    if not 0 < value < 2**bits:
        raise NotFoundError(what)
