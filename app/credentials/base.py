"""The contract every credential kind fulfils (a kind is a plugin, like an action).

A kind names a service's way of authenticating (`http_bearer`, `smtp`…). Its `Fields` model
is the form (secret fields declared with `secret_field`); `test` checks the fields against the
service without side effects, when the kind can.
"""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from app.credentials.fields import is_secret
from app.net import GuardedClient
from app.settings import Settings


class KindFields(BaseModel):
    """Base of every kind's fields: unknown fields refused, inputs never quoted in errors."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


@dataclass(frozen=True)
class Budget:
    """Requests a credential may make: per second and/or per minute (None: no limit)."""

    per_second: float | None = None
    per_minute: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            k: v for k, v in (("per_second", self.per_second), ("per_minute", self.per_minute)) if v
        }


class CredentialTestError(Exception):
    """The service refused the credential, or could not be reached; the message says which."""


class CredentialKind:
    """One kind of credential. Subclasses set the class attributes, and `test` if they can."""

    kind: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    Fields: ClassVar[builtins.type[KindFields]]
    # The service's documented rate (stored as the new credential's `budget`), or None.
    default_budget: ClassVar[Budget | None] = None

    @property
    def can_test(self) -> bool:
        """Whether `test` is implemented (a kind that cannot test keeps the base method)."""
        return type(self).test is not CredentialKind.test

    def test(self, fields: dict[str, Any], client: GuardedClient, settings: Settings) -> str:
        """Check `fields` against the service with no side effect; return what it said
        ("Signed in as …"), or raise CredentialTestError with a readable reason."""
        raise CredentialTestError(f"{self.name} credentials cannot be tested.")

    @classmethod
    @functools.cache
    def secret_fields(cls) -> frozenset[str]:
        return frozenset(n for n, info in cls.Fields.model_fields.items() if is_secret(info))

    @classmethod
    def validate(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The fields as the model validates them (pydantic's ValidationError otherwise)."""
        return cls.Fields.model_validate(data).model_dump(mode="json")

    @classmethod
    def form_schema(cls) -> dict[str, Any]:
        return cls.Fields.model_json_schema()
