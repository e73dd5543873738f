"""HTTP request action: call a URL through the guarded client and return the response."""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from app.actions.base import ActionConfig, BaseActionHandler, secret_field
from app.credentials.fields import credential_field
from app.engine.context import StepContext
from app.engine.errors import ActionError, ConfigError
from app.net import GuardedClient, GuardedResponse, OutboundError
from app.net.redaction import redact_secrets

Scalar = str | int | float | bool
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
BAD_VALUE_CHARS = re.compile(r"[\r\n\x00]")
MAX_ERROR_BODY_CHARS = 300
# Framing headers the client computes itself; a user's value could only corrupt the request.
MANAGED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# The credential kinds a request can carry (app/credentials/http.py).
HTTP_KINDS = ("http_header", "http_bearer", "http_basic", "http_query")


def _text(value: Scalar) -> str:
    """A scalar as it should appear in a query or form: booleans the JSON way."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pairs(fields: dict[str, Scalar | list[Scalar]]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, _text(item)))
    return pairs


class HttpRequestConfig(ActionConfig):
    """What an HTTP request step sends: method, URL, query, headers, body, auth, limits."""

    # Validation errors never quote the input: it may hold a token or a password.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(
        min_length=1,
        max_length=8192,
        description="http:// or https:// URL. Put values in `query`, where they are encoded.",
    )
    query: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Query parameters, percent-encoded for you."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    body_type: Literal["none", "json", "text", "form"] = Field(
        "none", description="How `body` is sent: JSON, raw text, or an HTML form."
    )
    body: Any = Field(
        None,
        description=(
            "JSON: any structure whose strings may be templates (always valid JSON); "
            "text: a string; form: an object of fields."
        ),
        json_schema_extra={"format": "json"},
    )
    content_type: str | None = Field(None, description="Content-Type for a text body.")
    credential_id: int | None = credential_field(
        kinds=HTTP_KINDS,
        description=(
            "A saved API key (a header, a bearer token, basic auth or a query parameter) sent "
            "with the request; or leave it empty and use auth_type."
        ),
    )
    auth_type: Literal["none", "bearer", "basic", "header"] = "none"
    auth_username: str | None = Field(None, description="User name (basic auth).")
    auth_password: str | None = secret_field(default=None, description="Password (basic auth).")
    auth_header_name: str | None = Field(None, description="Header carrying the token.")
    auth_token: str | None = secret_field(
        default=None, description="Bearer token, or the value of the auth header."
    )
    timeout_seconds: float | None = Field(
        None, gt=0, le=300, description="Whole-request timeout (capped by the server's limit)."
    )
    fail_on_status: bool = Field(True, description="Fail the step when the status is ≥ 400.")
    retry_on_statuses: list[int] = Field(
        default_factory=list, description="4xx statuses retried like 5xx and 429."
    )
    send_idempotency_key: bool = Field(
        True, description="Send Idempotency-Key: <execution id>:<step key>."
    )
    follow_redirects: bool = Field(True, description="Follow up to 5 redirects.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return url

    @field_validator("headers")
    @classmethod
    def _clean_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not TOKEN.fullmatch(name) or BAD_VALUE_CHARS.search(value):
                raise ValueError("header names must be tokens; values cannot hold line breaks")
            if name.lower() in MANAGED_HEADERS:
                raise ValueError(f"the {name} header is set by Stepline")
        return headers

    @field_validator("retry_on_statuses")
    @classmethod
    def _client_errors(cls, statuses: list[int]) -> list[int]:
        if any(not 400 <= s <= 499 for s in statuses):
            raise ValueError("only 4xx statuses can be added (5xx and 429 are always retried)")
        return statuses

    @model_validator(mode="after")
    def _consistent(self) -> HttpRequestConfig:
        if self.body_type == "none" and self.body not in (None, ""):
            raise ValueError("a body is set but body_type is 'none'")
        if self.body_type == "text" and self.body is not None:
            if isinstance(self.body, dict | list):
                raise ValueError("a text body must be a string (use body_type 'json')")
            self.body = _text(self.body)
        if self.body_type == "form" and not (
            isinstance(self.body, dict)
            and all(isinstance(v, Scalar | list) for v in self.body.values())
        ):
            raise ValueError("a form body must be an object of fields")
        if self.credential_id is not None and self.auth_type != "none":
            raise ValueError("use a credential or auth_type, not both")
        needs = {
            "bearer": ("auth_token",),
            "basic": ("auth_username", "auth_password"),
            "header": ("auth_header_name", "auth_token"),
        }.get(self.auth_type, ())
        missing = [name for name in needs if not getattr(self, name)]
        if missing:
            raise ValueError(f"auth_type {self.auth_type!r} needs {', '.join(missing)}")
        if self.auth_type == "basic" and ":" in (self.auth_username or ""):
            raise ValueError("a basic-auth user name cannot contain ':'")
        if self.auth_type == "header" and not TOKEN.fullmatch(self.auth_header_name or ""):
            raise ValueError("auth_header_name must be a header name")
        for secret in (self.auth_token, self.auth_password):
            if secret and BAD_VALUE_CHARS.search(secret):
                raise ValueError("credentials cannot hold line breaks")
        return self


def encode_body(config: HttpRequestConfig) -> tuple[bytes | None, str | None]:
    """The request body as bytes, and the Content-Type it goes with."""
    if config.body_type == "json":
        # The body is a structure (its template leaves already rendered): encoding it here is
        # what keeps quotes, newlines and `&` in values from ever breaking the JSON.
        body = json.dumps(config.body, ensure_ascii=False, separators=(",", ":"))
        return body.encode("utf-8"), "application/json; charset=utf-8"
    if config.body_type == "form":
        return urlencode(_pairs(config.body)).encode("ascii"), "application/x-www-form-urlencoded"
    if config.body_type == "text":
        return (config.body or "").encode("utf-8"), config.content_type or (
            "text/plain; charset=utf-8"
        )
    return None, None


def auth_headers(config: HttpRequestConfig) -> dict[str, str]:
    """The header that carries the configured credentials (none for auth_type 'none')."""
    if config.auth_type == "bearer":
        return {"Authorization": f"Bearer {config.auth_token}"}
    if config.auth_type == "basic":
        pair = f"{config.auth_username}:{config.auth_password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    if config.auth_type == "header" and config.auth_header_name:
        return {config.auth_header_name: config.auth_token or ""}
    return {}


def credential_auth(fields: dict[str, Any]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The header or query parameter an `http_*` credential adds to the request (its kind
    read from its fields: header_name/value, token, username/password, param_name/value)."""
    values = [str(v) for v in fields.values() if v is not None]
    if any(BAD_VALUE_CHARS.search(v) for v in values):
        raise ConfigError("The credential holds a line break, which no header can carry.")
    if "header_name" in fields:
        name = str(fields["header_name"])
        if not TOKEN.fullmatch(name) or name.lower() in MANAGED_HEADERS:
            raise ConfigError(f"The credential's header name {name!r} cannot be sent.")
        return {name: str(fields.get("value") or "")}, []
    if "token" in fields:
        return {"Authorization": f"Bearer {fields['token']}"}, []
    if "username" in fields and "password" in fields:
        pair = f"{fields['username']}:{fields['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}, []
    if "param_name" in fields:
        return {}, [(str(fields["param_name"]), str(fields.get("value") or ""))]
    raise ConfigError("The credential is not an HTTP API key.")


class HttpRequestAction(BaseActionHandler):
    """Call an HTTP endpoint and return its status, headers and body."""

    type = "http_request"
    category = "Developer"
    name = "HTTP request"
    description = (
        "Call an HTTP endpoint (JSON, form or text body; bearer, basic or header auth) and "
        "return its status, headers and body. Private addresses are refused."
    )
    Config = HttpRequestConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: HttpRequestConfig) -> dict[str, Any]:
        """Send the request; return {status, headers, body} or raise a (retryable) ActionError."""
        secrets = [config.auth_token, config.auth_password]
        credentials = auth_headers(config)
        params = _pairs(config.query)
        if config.credential_id is not None:
            fields = context.credential(config.credential_id, HTTP_KINDS)
            header, query = credential_auth(fields)
            credentials.update(header)
            params.extend(query)
            secrets.extend(str(fields[k]) for k in ("value", "token", "password") if fields.get(k))
        headers = {**config.headers, **credentials}
        lower = {name.lower() for name in headers}
        if config.send_idempotency_key and "idempotency-key" not in lower:
            headers["Idempotency-Key"] = context.idempotency_key
        content, content_type = encode_body(config)
        if content_type and "content-type" not in lower:
            headers["Content-Type"] = content_type

        client = GuardedClient.from_settings(context.settings)
        try:
            response = client.request(
                config.method,
                config.url,
                params=params,
                headers=headers,
                content=content,
                timeout=config.timeout_seconds,
                follow_redirects=config.follow_redirects,
                sensitive_headers=list(credentials),
            )
        except OutboundError as exc:
            raise ActionError(redact_secrets(str(exc), secrets), retryable=exc.retryable) from None
        context.log.info(
            "http_request %s to %s: %s",
            config.method,
            urlsplit(config.url).hostname,
            response.status,
        )
        if config.fail_on_status and response.status >= 400:
            raise status_error(response, config, secrets)
        return {
            "status": response.status,
            "headers": {name.lower(): value for name, value in response.headers.items()},
            "body": response.parsed_body(),
        }


def status_error(
    response: GuardedResponse, config: HttpRequestConfig, secrets: list[str | None]
) -> ActionError:
    """The step error for a status ≥ 400: 5xx and 429 are retryable (after Retry-After when
    given), 4xx only when listed in `retry_on_statuses`."""
    status = response.status
    retryable = status >= 500 or status == 429 or status in config.retry_on_statuses
    excerpt = " ".join(response.text.split())[:MAX_ERROR_BODY_CHARS]
    message = f"HTTP {status} {response.reason} from {urlsplit(response.url).hostname}"
    if excerpt:
        message += f": {excerpt}"
    return ActionError(
        redact_secrets(message, secrets),
        retryable=retryable,
        retry_after=response.retry_after if retryable else None,
    )
