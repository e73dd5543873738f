"""The OpenAPI 3.1 document of the API, generated from the same Pydantic models the views use.

Each endpoint has one `Operation` in OPERATIONS (app/api/operations.py, then
app/api/operations_executions.py and app/api/operations_tools.py). Its path and path
parameters are read from the app's URL map, its schemas from its models, and its error responses
follow from what it takes (a token, a body, a cursor, a path id).
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule
from werkzeug.routing.converters import BaseConverter, NumberConverter, UUIDConverter

from app.api import auth, schemas
from app.api.openapi_credentials import describe_credential_kinds
from app.api.openapi_kinds import describe_kinds, one_per_model
from app.api.operations import OPERATIONS as CORE_OPERATIONS
from app.api.operations import UNDOCUMENTED as UNDOCUMENTED
from app.api.operations import Operation, page_params
from app.api.operations_credentials import CREDENTIAL_OPERATIONS
from app.api.operations_executions import EXECUTION_OPERATIONS
from app.api.operations_tools import TOOL_OPERATIONS
from app.extensions import container

OPERATIONS = [*CORE_OPERATIONS, *EXECUTION_OPERATIONS, *TOOL_OPERATIONS, *CREDENTIAL_OPERATIONS]

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerToken"


ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: (
        "BadRequest",
        "Malformed request: the body is not JSON, holds a value no database stores (NaN, "
        "Infinity, 1e400, `\\u0000`, a lone surrogate; `field` names its path), or a query "
        "parameter is bad.",
    ),
    401: ("Unauthorized", "No token, or a token that is unknown or revoked."),
    403: ("Forbidden", "The token may not do this: a `read` token asked for more than GET."),
    404: ("NotFound", "No such object (another user's objects are missing too)."),
    409: ("Conflict", "The object's state does not allow this now."),
    412: (
        "PreconditionFailed",
        "`If-Match` names a version the workflow is no longer at; `ETag` holds the current one.",
    ),
    413: ("PayloadTooLarge", "The request body is too large."),
    415: ("UnsupportedMediaType", "The body must be sent as `application/json`."),
    422: ("ValidationFailed", "The JSON is well-formed but not valid; `field` names the input."),
    429: ("RateLimited", "Too many requests; retry after `Retry-After` seconds."),
}

DESCRIPTION = """\
Drive Stepline from scripts: workflows, executions and the registry of actions and triggers.

**Authentication.** Send `Authorization: Bearer <token>`. Create tokens on the Settings page,
with `flask create-token EMAIL --name NAME` on the server, or with POST /api/v1/tokens (with a
`write` token). A `read` token may only GET (anything else is 403 `insufficient_scope`); a token
may expire (then 401). Tokens are `stp_` and 43 URL-safe characters (`stp_[A-Za-z0-9_-]{43}`),
so secret scanners can spot a leaked one. Session cookies do not authenticate the API.

**Errors.** Every 4xx has the body `{"error": {"code", "message", "field"?}}`; `field` is a dotted
path to the input at fault, e.g. `steps.1.config.url`.

**Pagination.** Lists take `?limit=` and `?cursor=`; pass the `next_cursor` of one page as the
`cursor` of the next, until it is null.

**Rate limits.** Requests are counted per user. Every answer carries `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window resets) and `RateLimit-Policy`
(IETF draft-ietf-httpapi-ratelimit-headers); past the limit the API answers 429 with
`Retry-After`.

**Concurrent writers.** A workflow's answers carry its version as `ETag` (`"3"`). Send it back as
`If-Match` with PUT or DELETE: if someone saved in between, the answer is 412
`precondition_failed` naming the current version, and nothing is overwritten.

**Retries.** The POSTs that create something take an `Idempotency-Key` header: a retry with the
same key within 24 hours answers what the first request answered, and does nothing again.

**Values.** JSON text may not hold a NUL character (`\\u0000`) or an unpaired surrogate,
nor numbers beyond what a double holds (`NaN`, `Infinity`, `1e400`): such a body is a 400
naming the path, since it could not be stored.

**Ids.** An id that names no object of yours (another user's, or none at all) is a 404. Unknown
query parameters are ignored.
"""


def _package_version() -> str:
    try:
        return version("stepline")
    except PackageNotFoundError:
        return "0"


_RULE_ARGUMENT = re.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def _converter_schema(converter: BaseConverter) -> dict[str, Any]:
    if isinstance(converter, NumberConverter) and converter.num_convert is int:
        schema: dict[str, Any] = {"type": "integer"}
        schema["minimum"] = converter.min if converter.min is not None else 0
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _rule_for(app: Flask, operation: Operation) -> Rule:
    for rule in app.url_map.iter_rules(operation.endpoint):
        if operation.method.upper() in (rule.methods or ()):
            return rule
    raise LookupError(f"no {operation.method.upper()} route for {operation.endpoint}")


def _path_of(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a URL rule (`/w/<int:id>` → `/w/{id}`) and its path parameters."""
    converters: dict[str, BaseConverter] = getattr(rule, "_converters", {})
    names = _RULE_ARGUMENT.findall(rule.rule)
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _converter_schema(converters[name])
            if name in converters
            else {"type": "string"},
        }
        for name in names
    ]
    return _RULE_ARGUMENT.sub(r"{\1}", rule.rule), parameters


RATE_LIMIT_HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {
        "description": "Requests allowed per window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in this window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the window resets.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Policy": {
        "description": "The limit and its window in seconds, e.g. `100;w=60`.",
        "schema": {"type": "string"},
    },
}
ETAG_HEADER: dict[str, Any] = {
    "description": 'The workflow\'s version, e.g. `"3"`; send it back as `If-Match`.',
    "schema": {"type": "string"},
}


def _headers(**extra: Any) -> dict[str, Any]:
    """The headers every answer carries (the rate limit), and `extra`."""
    return {
        **{name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS},
        **extra,
    }


def _error_statuses(operation: Operation, *, public: bool, has_path_params: bool) -> list[int]:
    statuses = set(operation.errors) | {429}
    if not public:
        statuses.add(401)
        if operation.method != "get":
            statuses.add(403)
    if operation.body is not None:
        statuses |= {400, 413, 415, 422}
    if operation.paginated:
        statuses.add(400)
    if has_path_params:
        statuses.add(404)
    return sorted(statuses)


def _schemas(
    operations: list[Operation],
) -> tuple[dict[Any, Any], dict[str, Any]]:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(schemas.ErrorResponse, "serialization")]
    for operation in operations:
        if operation.body is not None:
            pairs.append((operation.body, "validation"))
        if operation.response is not None:
            pairs.append((operation.response, "serialization"))
    unique = list(dict.fromkeys(pairs))
    refs, definitions = models_json_schema(unique, ref_template=REF)
    return one_per_model(dict(refs), dict(definitions.get("$defs", {})))


def _components_responses(error_ref: Any) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (name, description) in ERROR_RESPONSES.items():
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": error_ref}},
        }
        extra: dict[str, Any] = {}
        if status in (401, 403):
            extra["WWW-Authenticate"] = {
                "description": "The Bearer challenge.",
                "schema": {"type": "string"},
            }
        if status == 412:
            extra["ETag"] = ETAG_HEADER
        if status == 429:
            extra["Retry-After"] = {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        response["headers"] = _headers(**extra)
        responses[name] = response
    return responses


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for the operations in OPERATIONS, as routed in `app`."""
    refs, definitions = _schemas(OPERATIONS)
    every_parameter: list[dict[str, Any]] = []
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for operation in OPERATIONS:
        rule = _rule_for(app, operation)
        path, path_parameters = _path_of(rule)
        public = auth.is_public(app.view_functions[operation.endpoint])
        parameters = list(path_parameters)
        paging = page_params(operation.cursor_parts) if operation.paginated else ()
        for param in (*operation.parameters, *paging):
            entry: dict[str, Any] = {"name": param.name, "in": param.location}
            if param.description:
                entry["description"] = param.description
            if param.required:
                entry["required"] = True
            entry["schema"] = param.schema
            parameters.append(entry)
            every_parameter.append(entry)

        responses: dict[str, Any] = {}
        headers = _headers(**({"ETag": ETAG_HEADER} if operation.etag else {}))
        if operation.response is None:
            responses[str(operation.status)] = {
                "description": "Done; no content.",
                "headers": headers,
            }
        else:
            responses[str(operation.status)] = {
                "description": operation.summary,
                "headers": headers,
                "content": {
                    "application/json": {"schema": refs[(operation.response, "serialization")]}
                },
            }
        for status in _error_statuses(
            operation, public=public, has_path_params=bool(path_parameters)
        ):
            responses[str(status)] = {
                "$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"
            }

        spec: dict[str, Any] = {
            "operationId": operation.endpoint.removeprefix("api."),
            "summary": operation.summary,
            "tags": [operation.tag],
        }
        if operation.description:
            spec["description"] = operation.description
        if parameters:
            spec["parameters"] = parameters
        if operation.body is not None:
            spec["requestBody"] = {
                "required": operation.body_required,
                "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
            }
        spec["responses"] = responses
        if public:
            spec["security"] = []
        paths.setdefault(path, {})[operation.method] = spec
        if operation.tag not in tags:
            tags.append(operation.tag)

    handlers = container(app).handlers
    describe_kinds(definitions, every_parameter, handlers.actions, handlers.triggers)
    describe_credential_kinds(definitions)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Stepline API",
            "version": _package_version(),
            "description": DESCRIPTION,
        },
        # Relative: the API is at /api/v1 of the host that serves this document.
        "servers": [{"url": "/", "description": "This Stepline instance."}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": definitions,
            "responses": _components_responses(refs[(schemas.ErrorResponse, "serialization")]),
            "headers": RATE_LIMIT_HEADERS,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`stp_…`): Settings page, `flask "
                    "create-token` or POST /api/v1/tokens.",
                }
            },
        },
        "security": [{SECURITY_SCHEME: []}],
    }


def document(app: Flask) -> dict[str, Any]:
    """The app's OpenAPI document, built once per app (routes and models do not change)."""
    cached = app.extensions.get("openapi_document")
    if cached is None:
        cached = app.extensions["openapi_document"] = build_document(app)
    return dict(cached)
