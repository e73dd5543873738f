"""The API's operations: one `Operation` per endpoint, from which openapi.py builds the document.

A test checks that every API route has exactly one entry here and every entry a route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from app.api import schemas
from app.api.filters import MAX_ID, NAME_LENGTH, STATUSES
from app.api.pagination import MAX_LIMIT, cursor_pattern
from app.api.round_trip import WorkflowPut
from app.services.executions.lifecycle import RUN_KEY_LENGTH
from app.services.idempotency import HEADER
from app.services.workflows.specs import WorkflowSpec


@dataclass(frozen=True)
class Param:
    """A query or header parameter (path parameters come from the URL rule)."""

    name: str
    location: Literal["query", "header"]
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One API operation: the Flask endpoint it documents and the models it exchanges."""

    endpoint: str
    method: Literal["get", "post", "put", "patch", "delete"]
    summary: str
    tag: str
    response: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    body: type[BaseModel] | None = None
    parameters: tuple[Param, ...] = ()
    paginated: bool = False
    # How many columns a page's cursor holds (its list's sort: created_at and id, or id).
    cursor_parts: int = 2
    # False: the body may be left out (the model's defaults apply).
    body_required: bool = True
    # Error statuses beyond those that follow from the operation's shape (e.g. 409).
    errors: tuple[int, ...] = ()
    description: str = ""


def page_params(cursor_parts: int) -> tuple[Param, Param]:
    """`cursor` and `limit` of a list sorted by `cursor_parts` columns."""
    cursor = Param(
        "cursor",
        "query",
        {"type": "string", "pattern": cursor_pattern(cursor_parts)},
        "The `next_cursor` of the previous page; omit for the first page.",
    )
    limit = Param(
        "limit",
        "query",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
        "Items per page.",
    )
    return cursor, limit


IDEMPOTENCY_KEY = Param(
    HEADER,
    "header",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "Any unique string (e.g. a UUID), 1 to 255 visible ASCII characters. Retrying with the same "
    "key within 24 hours answers the first request's response again (with "
    "`Idempotent-Replayed: true`) instead of doing the work twice; the same key with another "
    "request is a 422, and 409 while the first request is still being processed.",
)
STATUS = Param(
    "status",
    "query",
    {"type": "array", "items": {"type": "string", "enum": STATUSES}},
    "Only executions in these states; repeat the parameter for several "
    "(`?status=failed&status=cancelled`).",
)
CREATED_AFTER = Param(
    "created_after",
    "query",
    {"type": "string", "format": "date-time"},
    "Only executions created at or after this time (RFC 3339, with an offset).",
)
CREATED_BEFORE = Param(
    "created_before",
    "query",
    {"type": "string", "format": "date-time"},
    "Only executions created before this time (RFC 3339, with an offset).",
)
RUN_KEY = Param(
    "run_key",
    "query",
    {"type": "string", "minLength": 1, "maxLength": RUN_KEY_LENGTH},
    "Only executions with this run key (the workflow's `run_key_template`, evaluated).",
)
HAS_ERRORS = Param(
    "has_errors",
    "query",
    {"type": "boolean"},
    "`true`: only executions in which a step failed (with `status=completed`: the runs that "
    "completed with errors); `false`: only those without.",
)
INCLUDE_DRY_RUNS = Param(
    "include_dry_runs",
    "query",
    {"type": "boolean", "default": False},
    "With `run_key`: also find dry runs (a run-key search leaves them out by default). Lists "
    "without `run_key` show dry runs, with `dry_run: true`.",
)
WORKFLOW = Param(
    "workflow_id",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "Only executions of this workflow.",
)


OPERATIONS: list[Operation] = [
    Operation(
        "api.me_show",
        "get",
        "The authenticated user",
        "Account",
        response=schemas.Me,
        description="The user the token belongs to, and the token's name and prefix.",
    ),
    Operation(
        "api.action_list",
        "get",
        "List action kinds",
        "Registry",
        response=schemas.ActionKindList,
        description="Every action a step can run, with the JSON Schema of its `config`.",
    ),
    Operation(
        "api.trigger_list",
        "get",
        "List trigger kinds",
        "Registry",
        response=schemas.TriggerKindList,
        description="Every trigger a workflow can start with, and the JSON Schema of its `config`.",
    ),
    Operation(
        "api.workflow_list",
        "get",
        "List workflows",
        "Workflows",
        response=schemas.WorkflowList,
        paginated=True,
        cursor_parts=1,
        parameters=(
            Param(
                "name",
                "query",
                {"type": "string", "minLength": 1, "maxLength": NAME_LENGTH},
                "Only workflows whose name contains this text (any case).",
            ),
            Param("enabled", "query", {"type": "boolean"}, "Only enabled (or disabled) ones."),
            Param(
                "trigger_type",
                "query",
                {"type": "string"},  # the enum is the app's trigger types: see openapi.py
                "Only workflows with this kind of trigger.",
            ),
        ),
        description="The user's workflows, newest first. Send the same filters with every page.",
    ),
    Operation(
        "api.workflow_create",
        "post",
        "Create a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        status=201,
        body=WorkflowSpec,
        parameters=(IDEMPOTENCY_KEY,),
        errors=(409,),
        description="Validates the definition (a 422 names the field, e.g. "
        "`steps.1.config.url`) and stores it, disabled.",
    ),
    Operation(
        "api.workflow_show",
        "get",
        "Get a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        description="The workflow and its whole definition.",
    ),
    Operation(
        "api.workflow_update",
        "put",
        "Replace a workflow's definition",
        "Workflows",
        response=schemas.WorkflowOut,
        body=WorkflowPut,
        description="Replaces the definition and bumps `version`; running executions keep "
        "the definition they started with. Steps are matched to the stored ones by `key`. "
        "The body may be what GET answered: its read-only fields (`id`, `enabled`, `version`, "
        "`trigger_type`, `step_count`, `created_at`, `updated_at`, `webhook_url`) are ignored "
        "when unchanged and a 422 naming the field when changed.",
    ),
    Operation(
        "api.workflow_delete",
        "delete",
        "Delete a workflow",
        "Workflows",
        status=204,
        description="Deletes the workflow and its executions.",
    ),
    Operation(
        "api.workflow_enable",
        "post",
        "Enable a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        description="Its trigger starts firing. Enabling an enabled workflow changes nothing.",
    ),
    Operation(
        "api.workflow_disable",
        "post",
        "Disable a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        description="Its trigger stops firing; running executions finish.",
    ),
    Operation(
        "api.workflow_export",
        "get",
        "Export a workflow",
        "Workflows",
        response=schemas.WorkflowExport,
        description="The definition as a document to keep or import elsewhere; secret fields "
        "are left out.",
    ),
    Operation(
        "api.workflow_import",
        "post",
        "Import a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        status=201,
        body=schemas.WorkflowImport,
        parameters=(IDEMPOTENCY_KEY,),
        errors=(409,),
        description="Creates a new, disabled workflow from an export document.",
    ),
    Operation(
        "api.workflow_trigger",
        "post",
        "Trigger a workflow",
        "Executions",
        response=schemas.ExecutionStarted,
        status=202,
        body=schemas.TriggerData,
        body_required=False,
        parameters=(IDEMPOTENCY_KEY,),
        errors=(409,),
        description="Starts an execution with the body as its trigger data and answers once "
        "it is stored; poll GET /api/v1/executions/{execution_id} for its progress. "
        "The workflow must be enabled (else 409). While too much work is queued the answer is "
        "429 with `Retry-After`.",
    ),
    Operation(
        "api.workflow_dry_run",
        "post",
        "Dry run a workflow",
        "Executions",
        response=schemas.ExecutionSummary,
        status=202,
        body=schemas.TriggerData,
        body_required=False,
        parameters=(IDEMPOTENCY_KEY,),
        description="Starts a dry run of the saved version with the body as its trigger data: "
        "every step runs, except that a step that sends (HTTP request, Slack, Gmail, Sheets, a "
        "plugin declaring `sends`) records, as its output, the request it would send (method, "
        "URL, headers with credentials masked, body) instead of sending it, or is skipped when "
        "its plugin cannot describe it. A disabled workflow can be dry run. Dry runs are marked "
        "`dry_run: true` and left out of the dashboard's figures and metrics.",
    ),
    Operation(
        "api.execution_list",
        "get",
        "List a workflow's executions",
        "Executions",
        response=schemas.ExecutionList,
        paginated=True,
        parameters=(STATUS, CREATED_AFTER, CREATED_BEFORE, RUN_KEY, INCLUDE_DRY_RUNS, HAS_ERRORS),
        description="Newest first. Send the same filters with every page.",
    ),
    Operation(
        "api.execution_history",
        "get",
        "List executions",
        "Executions",
        response=schemas.ExecutionList,
        paginated=True,
        parameters=(
            WORKFLOW,
            STATUS,
            CREATED_AFTER,
            CREATED_BEFORE,
            RUN_KEY,
            INCLUDE_DRY_RUNS,
            HAS_ERRORS,
        ),
        description="All the user's executions, newest first. Send the same filters with "
        "every page.",
    ),
    Operation(
        "api.execution_show",
        "get",
        "Get an execution",
        "Executions",
        response=schemas.ExecutionOut,
        description="The execution, its trigger data and each step's status, attempts (each "
        "with its own start, end, error and who ended it), input, output, error and timings. "
        "(Also at /api/v1/workflows/executions/{execution_id}, the original path, as are "
        "cancel, rerun and /api/v1/workflows/executions/history.)",
    ),
    Operation(
        "api.execution_delete",
        "delete",
        "Delete an execution",
        "Executions",
        errors=(409,),
        description="Deletes a finished execution with its steps (409 while it is pending or "
        "running: cancel it first). Re-runs of it stay.",
    ),
    Operation(
        "api.executions_rerun_failed",
        "post",
        "Re-run failed executions",
        "Executions",
        response=schemas.BulkRerunResult,
        body=schemas.BulkRerunRequest,
        body_required=False,
        parameters=(IDEMPOTENCY_KEY,),
        errors=(404,),  # `workflow_id` names no workflow of the caller's
        description="Re-runs the failed executions that match every given filter and were not "
        "re-run yet, oldest first, at most 500 per call; answers the new executions' ids. "
        "Calling again never re-runs a failure twice.",
    ),
    Operation(
        "api.execution_cancel",
        "post",
        "Cancel an execution",
        "Executions",
        response=schemas.ExecutionOut,
        errors=(409,),
        description="Stops a pending or running execution (409 once it is finished); the "
        "step that is running completes, no further step starts.",
    ),
    Operation(
        "api.execution_rerun",
        "post",
        "Re-run an execution",
        "Executions",
        response=schemas.ExecutionStarted,
        status=202,
        body=schemas.RerunRequest,
        body_required=False,
        parameters=(IDEMPOTENCY_KEY,),
        errors=(409,),
        description="Runs the workflow's current definition again as a new execution, from "
        "the start or from the failed step, with the same or new trigger data. 409 while the "
        "execution is still running.",
    ),
]


# Routes that are the documentation itself.
UNDOCUMENTED = frozenset({"api.openapi_show", "api.docs_show"})
