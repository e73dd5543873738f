"""The operations of a workflow's tools (versions, testing one step) and of the account's
connections and API tokens; openapi.py documents them after those of operations.py."""

from __future__ import annotations

from app.api import schemas
from app.api.credential_schemas import ConnectionsOverview
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
        response=ConnectionsOverview,
        description="The accounts the user connected (Google), revoked ones included, as "
        "`items`; and the user's credentials (masked) as `credentials`.",
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
    Operation(
        "api.token_list",
        "get",
        "List API tokens",
        "Account",
        response=schemas.TokenList,
        description="Your tokens that are not revoked (expired ones included), newest first; "
        "never their secrets.",
    ),
    Operation(
        "api.token_create",
        "post",
        "Create an API token",
        "Account",
        response=schemas.TokenCreated,
        status=201,
        body=schemas.TokenCreate,
        description="Needs a `write` token. The answer holds the new token's secret, this once: "
        "only its hash is kept. Takes no Idempotency-Key (a stored answer would keep the secret).",
    ),
    Operation(
        "api.token_revoke",
        "delete",
        "Revoke an API token",
        "Account",
        status=204,
        description="The token (this one too) fails from the next request on. Revoking a "
        "revoked token changes nothing.",
    ),
]
