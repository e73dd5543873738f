"""The definition as the API answers it (GET /workflows/<id>): the trigger and the tree of
steps, secrets masked; a step that holds no list is written without `steps`, `branches` and
`otherwise` (as the definition itself)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.actions.conditions import ConditionSet
from app.engine.redaction import REDACTED
from app.engine.retry import RetrySettings


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TriggerOut(Out):
    type: str
    config: dict[str, Any] = Field(
        description=f"A secret field that is set reads `{REDACTED}`; send that back to keep it."
    )
    sample_data: dict[str, Any] | None


def _absent(value: Any) -> bool:
    return value is None


class StepOut(Out):
    key: str = Field(description="Stable slug: later steps read its output as `steps.<key>`.")
    type: str
    name: str
    config: dict[str, Any] = Field(
        description=f"A secret field that is set reads `{REDACTED}`; send that back to keep it."
    )
    retry: RetrySettings | None
    enabled: bool
    continue_on_error: bool
    run_if: ConditionSet | None = Field(
        None,
        description="Run only if: the step runs when these conditions hold, else it is "
        "skipped (see the definition's `run_if`).",
    )
    # Absent, not null, on a step that holds no lists (as the definition writes it).
    steps: list[StepOut] | None = Field(
        None, exclude_if=_absent, description="A loop step's steps, run once per item."
    )
    branches: list[BranchOut] | None = Field(
        None, exclude_if=_absent, description="A paths step's branches, in order."
    )
    otherwise: OtherwiseOut | None = Field(
        None, exclude_if=_absent, description="A paths step's steps run when no branch matched."
    )


class BranchOut(Out):
    key: str = Field(description="Unique in its paths step; runs are addressed by it (`4/b/2`).")
    name: str
    condition: ConditionSet
    steps: list[StepOut]


class OtherwiseOut(Out):
    name: str
    steps: list[StepOut]
