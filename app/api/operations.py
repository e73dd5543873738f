"""The API's operations: one `Operation` per endpoint, from which openapi.py builds the document.

A test checks that every API route has exactly one entry here and every entry a route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from app.api import schemas
from app.api.filters import NAME_LENGTH
from app.api.pagination import MAX_LIMIT, cursor_pattern
from app.api.round_trip import WorkflowPut
from app.api.workflows import IF_MATCH_MAX_LENGTH
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
    # The answer carries the workflow's version as its ETag.
    etag: bool = False


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
IF_MATCH = Param(
    "If-Match",
    "header",
    {"type": "string", "maxLength": IF_MATCH_MAX_LENGTH},
    'The workflow\'s `ETag` as you read it (e.g. `"3"`): the request then succeeds only while '
    "the workflow is still at that version, else 412 `precondition_failed` naming the current "
    "one. Without it the request applies to whatever version is current.",
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
        etag=True,
        description="Validates the definition (a 422 names the field, e.g. "
        "`steps.1.config.url`) and stores it, disabled. A webhook trigger gets its URL at once "
        "(`webhook_url`); it answers once the workflow is enabled.",
    ),
    Operation(
        "api.workflow_show",
        "get",
        "Get a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        etag=True,
        description="The workflow and its whole definition; the `ETag` is its version.",
    ),
    Operation(
        "api.workflow_update",
        "put",
        "Replace a workflow's definition",
        "Workflows",
        response=schemas.WorkflowOut,
        body=WorkflowPut,
        parameters=(IF_MATCH,),
        errors=(409, 412),
        etag=True,
        description="Replaces the definition and bumps `version` (running executions keep "
        "theirs); steps match stored ones by `key`. GET's body may be sent back: its read-only "
        "fields are ignored unchanged, a 422 naming the field changed. With `If-Match` (or the "
        "`version` read) another writer's save is never overwritten: 412. Changing the trigger "
        "away from a webhook retires its URL.",
    ),
    Operation(
        "api.workflow_delete",
        "delete",
        "Delete a workflow",
        "Workflows",
        status=204,
        parameters=(IF_MATCH,),
        errors=(400, 412),
        description="Deletes the workflow and its executions; with `If-Match`, only while it "
        "is still at that version.",
    ),
    Operation(
        "api.workflow_webhook_rotate",
        "post",
        "Rotate a webhook URL",
        "Workflows",
        response=schemas.WorkflowOut,
        errors=(409,),
        etag=True,
        description="Issues a new `webhook_url`; the old one answers 404 from now on. 409 when "
        "the trigger is not a webhook.",
    ),
    Operation(
        "api.workflow_enable",
        "post",
        "Enable a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        etag=True,
        description="Its trigger starts firing. Enabling an enabled workflow changes nothing.",
    ),
    Operation(
        "api.workflow_disable",
        "post",
        "Disable a workflow",
        "Workflows",
        response=schemas.WorkflowOut,
        etag=True,
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
        etag=True,
        description="Creates a new, disabled workflow from an export document.",
    ),
]


# Routes that are the documentation itself.
UNDOCUMENTED = frozenset({"api.openapi_show", "api.docs_show"})
