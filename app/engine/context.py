"""What a step sees when it runs: the trigger's data and earlier steps' outputs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.settings import Settings


@dataclass(frozen=True)
class ExecutionContext:
    """The data templates read: `trigger`, `steps.<key>`, `execution`, `workflow`."""

    execution_id: int
    workflow_id: int
    workflow_name: str
    user_id: int
    trigger: Mapping[str, Any]
    steps: Mapping[str, Any]
    # A dry run: steps that send record what they would send instead (app.engine.dry_run).
    dry_run: bool = False
    # Inside a loop: `loop.item`, `.index`, `.first`, `.last`, `.count`, `.parent`.
    loop: Mapping[str, Any] | None = None

    def template_vars(self) -> dict[str, Any]:
        variables = {
            "trigger": self.trigger,
            "steps": self.steps,
            "execution": {"id": self.execution_id},
            "workflow": {"id": self.workflow_id, "name": self.workflow_name},
        }
        if self.loop is not None:
            variables["loop"] = self.loop
        return variables


@dataclass(frozen=True)
class StepContext:
    """Everything an action's `execute` may use; it reads nothing else."""

    execution: ExecutionContext
    step_key: str
    position: int
    attempt: int
    settings: Settings
    secrets: SecretBox
    session_factory: Callable[[], Session]
    log: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("app.engine"), {})
    )
    frame: str = ""  # the loop iterations around this run of the step (app.engine.program)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and re-deliveries of this step of this execution (and of
        this iteration, inside a loop)."""
        key = f"{self.execution.execution_id}:{self.step_key}"
        return f"{key}@{self.frame}" if self.frame else key
