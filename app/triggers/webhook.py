"""Webhook trigger: an unguessable URL that starts the workflow with the request as data.

The ingress (app/ingress, app/services/webhooks/receiver.py) finds the trigger by its token; this
handler holds the config model, issues the token, and keeps the trigger-health column in step.
"""

from __future__ import annotations

import re
import secrets
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from app.actions.base import secret_field
from app.engine.templating import Renderer, has_template
from app.models import Trigger
from app.triggers.base import BaseTriggerHandler, TriggerConfig
from app.triggers.signing import Scheme

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TOKEN_BYTES = 32  # 256 bits, url-safe base64: 43 characters
AUTH_WITH_HEADER = ("hmac", "header")

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Auth = Literal["none", "github", "stripe", "slack", "shopify", "hmac", "header"]
DEFAULT_METHODS: tuple[Method, ...] = ("POST",)


def new_token() -> str:
    """A fresh webhook id: 256 random bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class WebhookConfig(TriggerConfig):
    methods: list[Method] = Field(
        default_factory=lambda: list(DEFAULT_METHODS),
        min_length=1,
        description="HTTP methods accepted.",
    )
    auth: Auth = Field(
        "none",
        description=(
            "How senders prove who they are: a preset (GitHub, Stripe, Slack, Shopify), a "
            "generic HMAC-SHA256 signature header, or a header carrying a static secret."
        ),
    )
    secret: str | None = secret_field(
        default=None,
        description="Signing secret (or the static header's value). Stored encrypted.",
        validate_default=True,
    )
    header: str | None = Field(
        None,
        description="hmac: the signature header; header: the header carrying the secret.",
        validate_default=True,
    )
    encoding: Literal["hex", "base64"] = Field("hex", description="hmac: signature encoding.")
    signature_prefix: str = Field(
        "", max_length=40, description="hmac: text before the signature, e.g. `sha256=`."
    )
    timestamp_header: str | None = Field(
        None,
        description=(
            "hmac: a header with a unix timestamp; then `<timestamp>.<body>` is signed and "
            "requests more than 5 minutes old are refused."
        ),
    )
    response_mode: Literal["immediate", "wait"] = Field(
        "immediate",
        description=(
            "immediate: answer 202 with the execution id once it is stored; wait: answer with "
            "the last step's output (504 with the id if the run takes longer than the timeout)."
        ),
    )
    wait_timeout_seconds: float = Field(30.0, ge=1, le=120)
    idempotency_key: str | None = Field(
        None,
        max_length=500,
        description=(
            "A header name (e.g. X-GitHub-Delivery) or a template over the request (e.g. "
            "`{{ trigger.body.id }}`): a repeat within the window starts nothing and answers "
            "with the first execution's id."
        ),
    )
    idempotency_window_seconds: int = Field(24 * 3600, ge=1, le=30 * 24 * 3600)
    expect_every_minutes: int | None = Field(
        None,
        ge=1,
        le=60 * 24 * 90,
        description="Trigger health: warn when no request has run the workflow for this long.",
    )

    @field_validator("header", "timestamp_header")
    @classmethod
    def _header_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not HEADER_NAME.match(value):
            raise PydanticCustomError("header_name", "Not a valid HTTP header name.")
        if info.field_name == "header" and not value and info.data.get("auth") in AUTH_WITH_HEADER:
            raise PydanticCustomError(
                "missing_header", "Name the header that carries the signature or secret."
            )
        return value

    @field_validator("idempotency_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if not value:
            return None
        if has_template(value):
            problems = Renderer().check(value, "idempotency_key")
            if problems:
                raise PydanticCustomError("template", problems[0][1])
        elif not HEADER_NAME.match(value):
            raise PydanticCustomError(
                "idempotency_key", "Give a header name or a template such as {{ trigger.body.id }}."
            )
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        auth = info.data.get("auth", "none")
        if auth != "none" and not value:
            raise PydanticCustomError("missing_secret", "This kind of auth needs a secret.")
        return value

    def scheme(self, secret: str) -> Scheme:
        """How to check a request, with the decrypted secret."""
        return Scheme(
            auth=self.auth,
            secret=secret,
            header=self.header,
            encoding=self.encoding,
            prefix=self.signature_prefix,
            timestamp_header=self.timestamp_header,
        )


class WebhookTrigger(BaseTriggerHandler):
    """Run the workflow when a request reaches its secret URL (body, query and headers as data)."""

    type = "webhook"
    category = "Developer"
    name = "Webhook"
    description = (
        "Run the workflow when a request reaches its secret URL; the body, query and headers "
        "become the trigger data."
    )
    Config = WebhookConfig

    def register(self, session: Session, trigger: Trigger) -> None:
        """Enabled: the URL exists (issued once, kept across disable/enable) and health is on."""
        if not trigger.webhook_token:
            trigger.webhook_token = new_token()
        config = WebhookConfig.model_validate(trigger.config)  # an encrypted secret is a secret
        minutes = config.expect_every_minutes
        trigger.expect_every_seconds = minutes * 60 if minutes else None

    def unregister(self, session: Session, trigger: Trigger) -> None:
        """Disabled: the URL answers 404 (the workflow is off); nothing is expected."""
        trigger.expect_every_seconds = None
