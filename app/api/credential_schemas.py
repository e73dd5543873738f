"""Bodies of the credentials API (`/api/v1/connections/credentials`). A credential's secrets
are never in an answer: `fields` holds the non-secret values and a mask for each set secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import ConnectionList, Schema

NAME_RULE = (
    "Unique per user and kind (another credential of that kind and name is a 409 naming "
    "`name`); not blanks only."
)
FIELDS_RULE = (
    "The kind's fields (each kind's schema is one variant of this body). Rules a schema cannot "
    "state (Slack: a bot token or a webhook URL; URLs that must be http(s)) are a 422 naming "
    "the field, e.g. `fields.webhook_url`."
)


class BudgetIn(BaseModel):
    """Requests the credential may make; leave a part out for no limit."""

    model_config = ConfigDict(extra="forbid")

    per_second: float | None = Field(None, gt=0, le=10_000)
    per_minute: int | None = Field(None, ge=1, le=1_000_000)


class BudgetOut(Schema):
    per_second: float | None = None
    per_minute: int | None = None


class CredentialCreate(BaseModel):
    """A new credential of a kind, with that kind's fields (secrets in clear, this once)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32, description="One of the installed kinds.")
    name: str = Field(min_length=1, max_length=200, pattern=r"\S", description=NAME_RULE)
    fields: dict[str, Any] = Field(description=FIELDS_RULE)
    budget: BudgetIn | None = Field(
        None, description="Requests per second / minute; left out: the kind's default."
    )


class CredentialUpdate(BaseModel):
    """Rename, rotate (give new secret values), change other fields or the budget. A secret
    left out, empty or sent back as the mask keeps its value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S")
    fields: dict[str, Any] | None = Field(
        None,
        description="Fields to change; the kind's rules apply to the result (a 422 naming the "
        "field, e.g. `fields.token`).",
    )
    budget: BudgetIn | None = Field(None, description="A new budget; `{}` removes it.")


class LastTest(Schema):
    at: datetime
    ok: bool | None
    message: str | None


class CredentialOut(Schema):
    id: int
    kind: str
    kind_name: str
    name: str
    fields: dict[str, Any] = Field(
        description="Non-secret values; each secret that is set reads `••••••`, never its value."
    )
    secret_fields: list[str]
    budget: BudgetOut | None
    can_test: bool
    last_test: LastTest | None
    problem: str | None = Field(description="Why it cannot be used now (undecryptable…).")
    created_at: datetime
    updated_at: datetime


class CredentialList(Schema):
    items: list[CredentialOut]


class ConnectionsOverview(ConnectionList):
    """The user's OAuth connections (`items`) and credentials."""

    credentials: list[CredentialOut]


class CredentialTestResult(Schema):
    ok: bool
    message: str
    credential: CredentialOut


class CredentialKindOut(Schema):
    kind: str
    name: str
    description: str
    can_test: bool
    secret_fields: list[str]
    fields_schema: dict[str, Any] = Field(description="The JSON Schema of the kind's fields.")


class CredentialKindList(Schema):
    items: list[CredentialKindOut]
