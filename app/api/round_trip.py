"""PUT takes back what GET gave: a workflow's representation, read-only fields included.

A read-only field sent unchanged is ignored; one sent changed is a 422 naming it, with where to
change it instead (enable/disable, rotate), so that a script's edit is never silently dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ConfigDict, Field

from app.api.schemas import WorkflowOut
from app.services.errors import InvalidInputError
from app.services.workflows.specs import WorkflowSpec

READ_ONLY_HINTS = {
    "id": "it names the workflow",
    "enabled": "use POST …/enable or …/disable",
    "version": "it counts saves; send If-Match to save only over the version you read",
    "trigger_type": "change `trigger.type` instead",
    "step_count": "it counts `steps`",
    "created_at": "it is set by the server",
    "updated_at": "it is set by the server",
    "webhook_url": "it is issued by the server",
}


def _read_only() -> Any:
    return Field(
        None,
        description="Read-only (GET's value may be sent back): ignored when unchanged, a 422 "
        "naming it when changed.",
        json_schema_extra={"readOnly": True},
    )


class WorkflowPut(WorkflowSpec):
    """A workflow definition; GET's read-only fields may be sent back unchanged."""

    model_config = ConfigDict(extra="forbid")

    id: int | None = _read_only()
    enabled: bool | None = _read_only()
    version: int | None = _read_only()
    trigger_type: str | None = _read_only()
    step_count: int | None = _read_only()
    created_at: datetime | None = _read_only()
    updated_at: datetime | None = _read_only()
    webhook_url: str | None = _read_only()


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def definition(body: WorkflowPut, current: WorkflowOut) -> WorkflowSpec:
    """The definition in `body`, once its read-only fields are checked against `current`."""
    for name, hint in READ_ONLY_HINTS.items():
        sent = getattr(body, name)
        if sent is not None and _utc(sent) != _utc(getattr(current, name)):
            raise InvalidInputError(f"`{name}` cannot be changed here: {hint}.", name)
    return WorkflowSpec.model_validate(body.model_dump(include=set(WorkflowSpec.model_fields)))
