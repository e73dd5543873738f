"""The operations of the credentials API; openapi.py documents them after the others, and
openapi_credentials.py turns the create body into one variant per installed kind."""

from __future__ import annotations

from app.api import credential_schemas as schemas
from app.api.operations import Operation, Param

TAG = "Connections"

CREDENTIAL_OPERATIONS: list[Operation] = [
    Operation(
        "api.credential_kind_list",
        "get",
        "List credential kinds",
        TAG,
        response=schemas.CredentialKindList,
        description="The installed kinds (built-ins and plugins), each with the JSON Schema "
        "of its fields, whether it can be tested, and which fields are secret.",
    ),
    Operation(
        "api.credential_list",
        "get",
        "List credentials",
        TAG,
        response=schemas.CredentialList,
        description="Your credentials: non-secret fields, and `••••••` for each secret that is "
        "set. A secret is never answered.",
    ),
    Operation(
        "api.credential_create",
        "post",
        "Create a credential",
        TAG,
        response=schemas.CredentialOut,
        status=201,
        body=schemas.CredentialCreate,
        errors=(409,),
        description="Stores the kind's fields encrypted. Steps name it by id in their "
        "credential fields (`credential_id`); only your own credentials of the kinds a field "
        "takes are accepted (a 422 naming the step's field).",
    ),
    Operation(
        "api.credential_show",
        "get",
        "Get a credential",
        TAG,
        response=schemas.CredentialOut,
    ),
    Operation(
        "api.credential_update",
        "patch",
        "Update or rotate a credential",
        TAG,
        response=schemas.CredentialOut,
        body=schemas.CredentialUpdate,
        errors=(409,),
        description="Rename it, rotate its secrets (give new values; a secret left out keeps "
        "its value) or change its budget. Every workflow using it uses the new values from its "
        "next run on.",
    ),
    Operation(
        "api.credential_test",
        "post",
        "Test a credential",
        TAG,
        response=schemas.CredentialTestResult,
        errors=(409,),
        description="Checks the credential against its service without side effects (SMTP "
        "login, Notion `users/me`, Telegram `getMe`, OpenAI-compatible `models`, Slack "
        "`auth.test`). A refusal is a 200 with `ok: false` and the service's reason; a kind "
        "that cannot be tested is a 409.",
    ),
    Operation(
        "api.credential_delete",
        "delete",
        "Delete a credential",
        TAG,
        status=204,
        parameters=(
            Param(
                "confirm",
                "query",
                {"type": "boolean", "default": False},
                "Delete even when workflows use it (their steps then fail until another "
                "credential is chosen). Without it, a credential in use is a 409 naming them.",
            ),
        ),
        errors=(400, 409),
    ),
]
