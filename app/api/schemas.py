"""Response bodies of the API as Pydantic models; the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from flask import Response, current_app
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorDetail(Schema):
    code: str = Field(description="Machine-readable: `not_found`, `validation_error`, …")
    message: str = Field(description="For people.")
    field: str | None = Field(
        None, description="Dotted path of the input at fault, e.g. `steps.1.config.url`."
    )


class ErrorResponse(Schema):
    """Every 4xx answer of the API."""

    error: ErrorDetail


class TokenInfo(Schema):
    name: str
    prefix: str = Field(description="The visible start of the token, e.g. `stp_AbCd1234`.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")


class Me(Schema):
    """The user the token belongs to, and the token itself."""

    id: int
    email: str
    name: str
    created_at: datetime
    token: TokenInfo


class ActionKind(Schema):
    type: str = Field(description="Permanent name, used as a step's `type`.")
    name: str
    description: str
    sends: bool = Field(description="True when the action has effects outside Stepline.")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the step's `config`.")


class TriggerKind(Schema):
    type: str = Field(description="Permanent name, used as a trigger's `type`.")
    name: str
    description: str
    polling: bool = Field(description="True when Stepline polls a remote service for events.")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the trigger's `config`.")


class ActionKindList(Schema):
    items: list[ActionKind]


class TriggerKindList(Schema):
    items: list[TriggerKind]


class Page(Schema, Generic[T]):
    """One page of a list; pass `next_cursor` as `?cursor=` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(description="Null on the last page.")


def respond(body: BaseModel, status: int = 200) -> Response:
    """Serialize a response model as the JSON body of a response."""
    return current_app.response_class(
        body.model_dump_json(), status=status, mimetype="application/json"
    )
