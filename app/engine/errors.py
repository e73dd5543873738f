"""Engine exceptions (ending in Error) and control-flow signals (not errors)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class EngineError(Exception):
    """Root of the engine's errors."""


class RegistryError(EngineError):
    """A handler could not be registered (duplicate type, bad handler)."""


class UnknownTypeError(EngineError):
    """No handler is registered for a trigger or action type."""

    def __init__(self, kind: str, type_: str) -> None:
        super().__init__(f"Unknown {kind} type {type_!r}.")
        self.type = type_


class ActionError(EngineError):
    """A step failed. `retryable` decides whether the engine may try it again;
    `retry_after` (seconds) overrides the backoff when the remote side asked for a wait;
    `rate_limited`: a wait for a rate limit (app.engine.budgets), retried after `retry_after`
    without counting against the step's attempts."""

    retryable: bool = True
    rate_limited: bool = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        rate_limited: bool | None = None,
    ) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        if rate_limited is not None:
            self.rate_limited = rate_limited
        self.retry_after = retry_after


class TemplateError(ActionError):
    """A template in a step's config failed to render (syntax, undefined path, sandbox, limits)."""

    retryable = False


class ConfigError(ActionError):
    """A step's rendered config does not match the action's model."""

    retryable = False


class OutputTooLargeError(ActionError):
    """A step's output or a trigger's data is over the size cap."""

    retryable = False


class StopWorkflow(Exception):
    """Raised by an action (filter) to end the execution as completed; later steps are skipped."""

    def __init__(self, output: dict[str, Any]) -> None:
        super().__init__("stop")
        self.output = output


class Suspend(Exception):
    """Raised by an action (delay) to run the next step only after `seconds`."""

    def __init__(self, seconds: float, output: dict[str, Any]) -> None:
        super().__init__(f"suspend {seconds}s")
        self.seconds = seconds
        self.output = output


class Wait(Exception):
    """Raised by an action to suspend the run until something resumes its step (app.engine.waits):
    a call to its resume URL, a decision, a child run's end (`kind`: "call", "approval",
    "child"), or `until` (an aware datetime), when it times out. `output` says what it waits for
    while it waits. The step then runs again and reads what resumed it (`StepContext.resume`)."""

    def __init__(self, kind: str, until: datetime, output: dict[str, Any] | None = None) -> None:
        super().__init__(f"wait for {kind} until {until.isoformat()}")
        self.kind = kind
        self.until = until
        self.output = output or {}
