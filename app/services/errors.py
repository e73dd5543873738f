"""Errors raised by services; views turn them into 4xx responses."""

from __future__ import annotations


class ServiceError(Exception):
    """Root of the service errors."""


class ValidationFailed(ServiceError):
    """Input was refused. `field` is a dotted path such as `steps.1.config.url`."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The object does not exist or belongs to another user (the same answer for both)."""


class Conflict(ServiceError):
    """The request conflicts with the object's state (e.g. re-running a live execution)."""


class PayloadTooLarge(ServiceError):
    """Trigger data is over the configured cap."""


class BadRequest(ServiceError):
    """The request cannot be read (malformed or too deeply nested JSON, say)."""


class Unauthorized(ServiceError):
    """The request's signature or secret is missing, wrong or stale."""


class MethodNotAllowed(ServiceError):
    """The HTTP method is not one the trigger accepts; `allowed` lists those it does."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed


class TooManyRequests(ServiceError):
    """Refused for now (a rate limit, or the queue is full); try again after `retry_after` s."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
