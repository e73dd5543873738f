"""Retry policy of a step: how many attempts, and the wait before each retry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ATTEMPTS = 10
MAX_DELAY_SECONDS = 24 * 3600.0
MAX_STEP_TIMEOUT_SECONDS = 86400


class Backoff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["fixed", "exponential"] = "exponential"
    delay: float = Field(1.0, ge=0, le=MAX_DELAY_SECONDS, description="Seconds.")


class RetrySettings(BaseModel):
    """The `retry` field of a step, as users and the API write it."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(
        3, ge=1, le=MAX_ATTEMPTS, description="Attempts in all, the first included."
    )
    backoff: Backoff = Field(default_factory=Backoff)
    # Stored with the attempts it bounds (the step's `retry` JSON), so no column is needed.
    timeout_seconds: int | None = Field(
        None,
        ge=1,
        le=MAX_STEP_TIMEOUT_SECONDS,
        exclude_if=lambda value: value is None,
        description="Time limit of one attempt, in seconds (at most a day); an attempt over "
        "it fails as a timeout and is retried under these rules. Null: the workflow's "
        "`settings.step_time_limit_seconds`, else the engine's STEPLINE_STEP_TIME_LIMIT "
        "(15 minutes unless set otherwise).",
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Fixed: `delay` before every retry. Exponential: `delay · 2^(n-1)` before the n-th retry."""

    attempts: int = 3
    kind: Literal["fixed", "exponential"] = "exponential"
    delay: float = 1.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RetryPolicy:
        settings = RetrySettings.model_validate(dict(data or {}))
        return cls(settings.attempts, settings.backoff.type, settings.backoff.delay)

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (2 = the first retry)."""
        retry_number = max(attempt - 1, 1)
        if self.kind == "fixed":
            return self.delay
        return min(self.delay * 2 ** (retry_number - 1), MAX_DELAY_SECONDS)
