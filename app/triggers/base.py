"""The contract every trigger handler fulfils."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.models import Trigger
from app.settings import Settings


class TriggerConfig(BaseModel):
    """Base of every trigger's config model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class PollEvent:
    """One new item found by a polling trigger: `data` becomes its execution's trigger data,
    and `state` the trigger's state committed with that execution, so that a cursor moves past
    an item only once its execution exists (a crash between two items loses and repeats none)."""

    data: dict[str, Any]
    state: dict[str, Any]


@dataclass(frozen=True)
class PollContext:
    """What a polling trigger's `poll` may use besides its session and trigger row."""

    settings: Settings
    secrets: SecretBox
    session_factory: Callable[[], Session]


class BaseTriggerHandler:
    """One kind of trigger. `register`/`unregister` run when its workflow is enabled/disabled;
    polling triggers also implement `poll`."""

    type: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[builtins.type[TriggerConfig]]
    # The editor's group of trigger kinds (app/engine/categories.py); None: placed by its type.
    category: ClassVar[str | None] = None
    polling: ClassVar[bool] = False
    # Polling triggers: seconds between two polls of one trigger (the scheduler sets next_run_at).
    poll_every: ClassVar[float] = 60.0

    @classmethod
    def validate_config(cls, data: Mapping[str, Any]) -> TriggerConfig:
        return cls.Config.model_validate(dict(data))

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        """Names of the config fields marked with `secret_field` (stored encrypted)."""
        return frozenset(
            name
            for name, info in cls.Config.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
        )

    def register(self, session: Session, trigger: Trigger) -> None:
        """Called in the enabling transaction (e.g. to set next_run_at or a webhook token)."""

    def unregister(self, session: Session, trigger: Trigger) -> None:
        """Called in the disabling transaction."""

    def poll(
        self, session: Session, trigger: Trigger, context: PollContext
    ) -> Sequence[dict[str, Any] | PollEvent]:
        """Return new events (each becomes one execution's trigger data); PollEvents also
        carry the trigger state to commit with each execution."""
        raise NotImplementedError(f"{self.type} is not a polling trigger")

    def problem(self, trigger: Trigger) -> str | None:
        """What keeps this trigger from working right now (shown in trigger health), if any."""
        return None
