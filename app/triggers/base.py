"""The contract every trigger handler fulfils."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from app.models import Trigger


class TriggerConfig(BaseModel):
    """Base of every trigger's config model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class BaseTriggerHandler:
    """One kind of trigger. `register`/`unregister` run when its workflow is enabled/disabled;
    polling triggers also implement `poll`."""

    type: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[builtins.type[TriggerConfig]]
    polling: ClassVar[bool] = False

    @classmethod
    def validate_config(cls, data: Mapping[str, Any]) -> TriggerConfig:
        return cls.Config.model_validate(dict(data))

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()

    def register(self, session: Session, trigger: Trigger) -> None:
        """Called in the enabling transaction (e.g. to set next_run_at or a webhook token)."""

    def unregister(self, session: Session, trigger: Trigger) -> None:
        """Called in the disabling transaction."""

    def poll(self, session: Session, trigger: Trigger) -> list[dict[str, Any]]:
        """Return new events (each becomes one execution's trigger data)."""
        raise NotImplementedError(f"{self.type} is not a polling trigger")
