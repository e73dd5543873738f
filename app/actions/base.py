"""The contract every action handler fulfils."""

from __future__ import annotations

import builtins
import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from app.credentials.fields import credential_field, secret_field, workflow_field
from app.engine.context import StepContext

__all__ = [
    "ActionConfig",
    "BaseActionHandler",
    "credential_field",
    "secret_field",
    "workflow_field",
]


class ActionConfig(BaseModel):
    """Base of every action's config model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class BaseActionHandler(ABC):
    """One kind of step. Subclasses set the class attributes and implement `execute`.

    `execute` reads everything from its arguments, is safe to run twice (it may be, after a
    crash), returns a JSON-able dict, and raises on failure (see app.engine.errors).
    """

    type: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[builtins.type[ActionConfig]]
    # The editor palette's group (app/engine/categories.py: Flow, Messaging, Email, Data,
    # Google, AI, Developer…); None: placed by its type.
    category: ClassVar[str | None] = None
    # True when the action has effects outside Stepline (the editor labels it "this really sends").
    sends: ClassVar[bool] = False
    # What a dry run does with a step that sends (docs/plugins.md, "Dry runs"). "record": run
    # `execute` with Stepline's guarded HTTP client recording the first request instead of
    # sending it (every outbound call must go through app.net.GuardedClient, in the calling
    # thread); "skip": do not run it, record it as skipped in the dry run.
    dry_run: ClassVar[Literal["record", "skip"]] = "skip"
    # True when `execute` only computes its output from its rendered config: no effect anywhere
    # and nothing read from outside. The engine then runs a chain of such steps back to back and
    # records the chain in one statement (a crash before that statement re-runs the chain).
    pure: ClassVar[bool] = False

    @classmethod
    def validate_config(cls, data: Mapping[str, Any]) -> ActionConfig:
        """Validate a (rendered) config against the handler's model."""
        return cls.Config.model_validate(dict(data))

    @classmethod
    @functools.cache
    def secret_fields(cls) -> frozenset[str]:
        """Names of the config fields marked with `secret_field`."""
        return frozenset(
            name
            for name, info in cls.Config.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
        )

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()

    @abstractmethod
    def execute(self, context: StepContext, config: Any) -> dict[str, Any]:
        """Run the step and return its output."""
