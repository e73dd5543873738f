"""The execution operations (trigger, list, show, cancel, re-run, delete…) and the query
parameters of their lists; openapi.py documents them after those of operations.py."""

from __future__ import annotations

from app.api import schemas
from app.api.filters import MAX_ID, STATUSES
from app.api.operations import IDEMPOTENCY_KEY, Operation, Param
from app.api.resume_schemas import ResumeRequest
from app.services.executions.lifecycle import RUN_KEY_LENGTH

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


EXECUTION_OPERATIONS: list[Operation] = [
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
        description="Deletes a finished execution with its steps (409 while it is pending, "
        "running or waiting: cancel it first). Re-runs of it stay.",
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
        description="Stops a pending, running or waiting execution (409 once it is finished); "
        "the step that is running completes, a waiting step stops waiting (its resume URL "
        "answers 409), no further step starts.",
    ),
    Operation(
        "api.execution_resume",
        "post",
        "Resume a waiting execution",
        "Executions",
        response=schemas.ExecutionOut,
        body=ResumeRequest,
        errors=(409,),
        description="Resumes the execution's waiting step `step` as its owner, as its resume URL "
        "would: a step waiting for a call (`wait_for_call`) with `data` as the call's body, an "
        "approval step with a `decision` (approve or reject, with a comment). The step's "
        "output says you resumed it. 409 when that step is not waiting (resumed already, timed "
        "out, cancelled, or it waits for a child run or a time); 422 for a missing or "
        "malformed decision. Answers the execution, running again.",
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
