"""The operations of a workflow's tools (versions, testing one step) and of the account's
connections; openapi.py documents them after those of operations.py."""

from __future__ import annotations

from app.api import schemas
from app.api.operations import Operation

TOOL_OPERATIONS: list[Operation] = [
    Operation(
        "api.version_list",
        "get",
        "List a workflow's versions",
        "Versions",
        response=schemas.VersionList,
        description="The current version first, then each earlier one (every save keeps one).",
    ),
    Operation(
        "api.version_show",
        "get",
        "Get a version",
        "Versions",
        response=schemas.VersionOut,
        description="One version with its definition as it was saved (without secrets).",
    ),
    Operation(
        "api.version_restore",
        "post",
        "Restore a version",
        "Versions",
        response=schemas.WorkflowOut,
        errors=(409, 422),
        description="Saves the version's definition as a new version (409 for the current "
        "one). Secret fields keep their current values where the step still exists; a step "
        "whose secret is gone is a 422 naming it.",
    ),
    Operation(
        "api.step_test",
        "post",
        "Test one step",
        "Workflows",
        response=schemas.StepTestResult,
        body=schemas.StepTestRequest,
        body_required=False,
        description="Runs one step of the saved definition now on the given trigger data and "
        "earlier steps' outputs, and records nothing. An action that sends (HTTP request, "
        "Slack, Gmail…) really sends. A failure of the step is a 200 with `status: failed`.",
    ),
    Operation(
        "api.connection_list",
        "get",
        "List connections",
        "Connections",
        response=schemas.ConnectionList,
        description="The accounts the user connected (Google), revoked ones included.",
    ),
    Operation(
        "api.connection_revoke",
        "post",
        "Revoke a connection",
        "Connections",
        response=schemas.ConnectionOut,
        description="Asks the provider to revoke the grant and deletes the stored tokens "
        "whatever it answers; steps using the connection fail until it is connected again.",
    ),
]
