"""Response bodies of the API as Pydantic models; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from flask import Response, current_app
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, field_validator
from pydantic_core import PydanticCustomError

from app.api.definition_schemas import StepOut, TriggerOut
from app.api.step_results import StepResult
from app.models import ExecutionStatus
from app.services.executions.lifecycle import RUN_KEY_LENGTH
from app.services.workflows.specs import WorkflowSettings, WorkflowSpec

T = TypeVar("T")


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(Schema):
    code: str = Field(description="Machine-readable: `not_found`, `validation_error`, …")
    message: str = Field(description="For people.")
    field: str | None = Field(
        None, description="Dotted path of the input at fault, e.g. `steps.1.config.url`."
    )


class ErrorResponse(Schema):
    """Every 4xx answer of the API."""

    error: ErrorDetail


class TokenInfo(Schema):
    id: int
    name: str
    prefix: str = Field(description="The visible start of the token, e.g. `stp_AbCd1234`.")
    scope: Literal["read", "write"] = Field(
        description="`read`: GET only (other methods answer 403); `write`: everything."
    )
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    expires_at: datetime | None = Field(
        description="After this time the token answers 401; null: it never expires."
    )


class TokenList(Schema):
    """The user's tokens that are not revoked, newest first (never their secrets)."""

    items: list[TokenInfo]


class TokenCreate(BaseModel):
    """A new token for a script."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=120, description="Which script uses it, e.g. `nightly export`."
    )
    scope: Literal["read", "write"] = "write"
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="Days until it stops working; null: never."
    )


class TokenCreated(TokenInfo):
    """The new token, with its secret: shown this once, only its hash is kept."""

    token: str = Field(
        description="The secret, `stp_` and 43 URL-safe characters; send it as "
        "`Authorization: Bearer <token>`."
    )


class Me(Schema):
    """The user the token belongs to, and the token itself."""

    id: int
    email: str
    name: str
    created_at: datetime
    token: TokenInfo


class ActionKind(Schema):
    type: str = Field(description="Permanent name, used as a step's `type`.")
    name: str
    description: str
    sends: bool = Field(description="True when the action has effects outside Stepline.")
    category: str = Field(description="The editor palette's group: Flow, Messaging, Email…")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the step's `config`.")


class TriggerKind(Schema):
    type: str = Field(description="Permanent name, used as a trigger's `type`.")
    name: str
    description: str
    polling: bool = Field(description="True when Stepline polls a remote service for events.")
    category: str = Field(description="The editor's group of trigger kinds.")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the trigger's `config`.")


class ActionKindList(Schema):
    items: list[ActionKind]


class TriggerKindList(Schema):
    items: list[TriggerKind]


class Page(Schema, Generic[T]):
    """One page of a list; pass `next_cursor` as `?cursor=` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(description="Null on the last page.")


def respond(body: BaseModel, status: int = 200) -> Response:
    """Serialize a response model as the JSON body of a response."""
    return current_app.response_class(
        body.model_dump_json(), status=status, mimetype="application/json"
    )


def no_content() -> Response:
    """An empty 204 answer (a deletion)."""
    return current_app.response_class(status=204)


# Workflows


class WorkflowSummary(Schema):
    id: int
    name: str
    description: str
    enabled: bool
    version: int = Field(description="Bumped on every save.")
    trigger_type: str
    step_count: int = Field(
        description="Steps in the whole definition, those inside loops and branches included."
    )
    created_at: datetime
    updated_at: datetime


class WorkflowOut(WorkflowSummary):
    """A workflow with its whole definition (the body of PUT is the same without the ids)."""

    trigger: TriggerOut = Field(description="As PUT takes it back.")
    steps: list[StepOut]
    run_key_template: str | None
    settings: WorkflowSettings = Field(
        description="Time zone, time limits and failure handling of every run."
    )
    webhook_url: str | None = Field(
        description="Where senders post, for a webhook trigger (issued when the trigger becomes "
        "a webhook); it answers only while the workflow is enabled."
    )


class WorkflowList(Page[WorkflowSummary]):
    """One page of workflows, newest first."""


ExportFormat = Literal["stepline.workflow/v1"]
EXPORT_FORMAT: ExportFormat = "stepline.workflow/v1"


class WorkflowExport(Schema):
    """A workflow definition to keep or move elsewhere; secrets are left out."""

    format: ExportFormat = EXPORT_FORMAT
    exported_at: datetime
    workflow: WorkflowSpec


class WorkflowImport(BaseModel):
    """What GET …/export returned; imported as a new, disabled workflow."""

    model_config = ConfigDict(extra="forbid")

    format: ExportFormat
    exported_at: datetime | None = None
    workflow: WorkflowSpec

    @field_validator("exported_at", mode="before")
    @classmethod
    def _a_date_time_string(cls, value: Any) -> Any:
        # A date-time as the document says: text, not a number of seconds.
        if value is not None and not isinstance(value, str):
            raise PydanticCustomError("date_time", "Give a date-time such as 2026-12-01T10:00:00Z.")
        return value


# Executions


class WaitingOut(BaseModel):
    """What a waiting execution waits for (services.executions.waiting)."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    step: str = Field(description="The key of the step that waits.")
    for_: str = Field(
        alias="for",
        description="`call` (a POST to the step's resume URL, or POST …/resume), `approval` (a "
        "decision on its approval page, or POST …/resume), `child` (a child run's end), `time`.",
    )
    since: datetime | None = Field(description="When the step began to wait.")
    until: datetime | None = Field(
        description="Its deadline: then it times out (fails, or goes on with its default)."
    )


class ExecutionSummary(Schema):
    id: int
    workflow_id: int
    status: ExecutionStatus
    trigger_type: str = Field(description="What started it: `api`, or the trigger's type.")
    run_key: str | None = Field(description="The workflow's run key template, evaluated.")
    workflow_version: int = Field(description="The definition's version the run uses.")
    rerun_of_id: int | None
    parent_execution_id: int | None = Field(
        None,
        description="A run started by a `run_workflow` step of another run: that run's id "
        "(its step's output carries this run's id as `child_execution_id`).",
    )
    depth: int = Field(
        0,
        description="How many runs called this one in turn (0: its trigger started it; at most "
        "STEPLINE_MAX_CHILD_DEPTH).",
    )
    dry_run: bool = Field(
        description="A dry run: each step that sends recorded, as its output, the request it "
        'would send (`{"dry_run": "recorded", "request": {...}}`) instead of sending it.'
    )
    error: str | None
    has_errors: bool = Field(
        description="A step failed. With status `completed`: a step set to continue on error "
        "failed and the run went on (completed with errors)."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    waiting: WaitingOut | None = Field(
        None, description="With status `waiting`: the step that waits, for what, until when."
    )


class ExecutionOut(ExecutionSummary):
    """An execution with its trigger data and what each step did."""

    trigger_data: dict[str, Any]
    steps: list[StepResult]


class ExecutionList(Page[ExecutionSummary]):
    """One page of executions, newest first."""


class ExecutionStarted(ExecutionSummary):
    """An execution just stored (202); `execution_id` is the name webhooks answer with too."""

    execution_id: int = Field(description="The new execution's id (the same as `id`).")


class BulkRerunRequest(BaseModel):
    """Which failures to re-run: the failed executions matching every given filter that were
    not re-run yet, oldest first, at most 500 per call (`more` says when to call again)."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: int | None = Field(None, ge=1, le=2**31 - 1)
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    run_key: str | None = Field(None, min_length=1, max_length=RUN_KEY_LENGTH)
    from_failed: bool = Field(
        True, description="Start each at its failed step (false: from the start)."
    )


class BulkRerunResult(Schema):
    execution_ids: list[int] = Field(description="The re-runs started, in order.")
    more: bool = Field(description="More failures match than one call re-runs.")


class TriggerData(RootModel[dict[str, Any]]):
    """Any JSON object; the steps read it as `trigger`. An empty body is `{}`."""


class RerunRequest(BaseModel):
    """How to re-run: the workflow's current definition, with the same or new trigger data."""

    model_config = ConfigDict(extra="forbid")

    from_failed: bool = Field(
        False,
        description="Start at the failed step, reusing the earlier steps' outputs "
        "(only for a failed execution).",
    )
    trigger_data: dict[str, Any] | None = Field(
        None, description="Replaces the original trigger data; null keeps it."
    )
    dry_run: bool | None = Field(
        None,
        description="true: a dry run (steps that send only record their request); false: a "
        "real run; null: like the original. A dry run is never re-run for real from its failed "
        "step (409).",
    )


# Versions, connections, one step's test


class VersionSummary(Schema):
    version: int
    current: bool = Field(description="True for the definition the workflow has now.")
    saved_at: datetime
    replaced_at: datetime | None = Field(description="When a later save replaced it.")
    note: str | None = Field(description="The note written on Save.")
    step_count: int


class VersionList(Schema):
    """The workflow's versions, newest (the current one) first."""

    items: list[VersionSummary]


class VersionOut(VersionSummary):
    definition: WorkflowSpec = Field(description="As it was saved; secrets are left out.")


class ConnectionOut(Schema):
    id: int
    provider: str
    account_email: str
    scopes: list[str]
    status: Literal["active", "needs_reconnect", "revoked"]
    created_at: datetime
    updated_at: datetime


class ConnectionList(Schema):
    items: list[ConnectionOut]


class StepTestRequest(BaseModel):
    """The data one step reads: the trigger's, and earlier steps' outputs by key."""

    model_config = ConfigDict(extra="forbid")

    trigger: dict[str, Any] = Field(default_factory=dict, description="Read as `trigger`.")
    steps: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Earlier steps' outputs, read as `steps.<key>`."
    )


class StepTestResult(Schema):
    status: Literal["completed", "failed", "stopped"] = Field(
        description="`stopped`: a filter would end the run here."
    )
    input: dict[str, Any] | None = Field(description="The rendered config; secrets redacted.")
    output: dict[str, Any] | None
    error: str | None
    duration_ms: int
