"""What the Google triggers share: the connection they poll with, on top of the cursor, the
poll loop and the poll health of every polling trigger (app/triggers/polling.py)."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from app.google.client import GoogleClient
from app.google.fields import connection_field
from app.google.tokens import Tokens
from app.models import Trigger
from app.settings import Settings
from app.triggers.base import PollContext, TriggerConfig
from app.triggers.google.cursor import Watermark
from app.triggers.polling import (
    MAX_EVENTS_PER_POLL,
    MAX_TEXT_CHARS,
    STALL_AFTER,
    CursorPollingTrigger,
    Found,
    clip,
    fingerprint,
)

__all__ = [
    "MAX_EVENTS_PER_POLL",
    "MAX_TEXT_CHARS",
    "STALL_AFTER",
    "Found",
    "GooglePollingTrigger",
    "GoogleTriggerConfig",
    "WatermarkTrigger",
    "clip",
    "fingerprint",
]


class GoogleTriggerConfig(TriggerConfig):
    """Base of the Google trigger configs: the connection to poll with."""

    connection_id: int = connection_field()


class GooglePollingTrigger(CursorPollingTrigger):
    """Base of the Google triggers: subclasses give `google_scopes`, `start` and `fetch`."""

    service = "Google"
    category = "Google"
    google_scopes: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def fetch(self, client: GoogleClient, config: Any, cursor: Any) -> Found:
        """Ask Google for what is new after `cursor`, oldest first. When items are found, the
        cursor after the last one is also `Found.cursor`."""

    def poll_interval(self, settings: Settings) -> float:
        return settings.google_poll_interval

    def register(self, session: Session, trigger: Trigger) -> None:
        config = self._config(trigger)
        assert isinstance(config, GoogleTriggerConfig)
        trigger.connection_id = config.connection_id
        super().register(session, trigger)

    def fetch_new(self, trigger: Trigger, config: Any, cursor: Any, context: PollContext) -> Found:
        """Poll with the trigger's connection (a 429 or quota error: the poll waits)."""
        tokens = Tokens(context.session_factory, context.settings, context.secrets)
        owner_id = trigger.workflow.user_id
        client = GoogleClient(tokens, config.connection_id, owner_id, needs=self.google_scopes)
        return self.fetch(client, config, cursor)


class WatermarkTrigger(GooglePollingTrigger):
    """A polling trigger for items created after it was enabled: its cursor is a Watermark."""

    def start(self, now: datetime) -> Any:
        return Watermark.starting(now).dump()
