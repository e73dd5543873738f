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
