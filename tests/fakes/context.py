"""A StepContext for calling an action's `execute` directly, without the runner."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.engine.context import ExecutionContext, StepContext
from app.settings import Settings


def make_step_context(
    settings: Settings,
    *,
    execution_id: int = 7,
    step_key: str = "call",
    attempt: int = 1,
    trigger: Mapping[str, Any] | None = None,
    timezone: str = "UTC",
) -> StepContext:
    """A context for step `step_key` of execution `execution_id`, reading `settings`."""

    def no_session() -> Session:
        raise AssertionError("this action should not open a database session")

    return StepContext(
        execution=ExecutionContext(
            execution_id=execution_id,
            workflow_id=1,
            workflow_name="test workflow",
            user_id=1,
            trigger=dict(trigger or {}),
            steps={},
            timezone=timezone,
        ),
        step_key=step_key,
        position=0,
        attempt=attempt,
        settings=settings,
        secrets=SecretBox(settings.secret_keys_value),
        session_factory=no_session,
        log=logging.LoggerAdapter(logging.getLogger("app.engine.step"), {}),
    )
