"""What the Google triggers share: the connection, the poll loop around a handler's `fetch`,
the cursor kept in Trigger.state, and the poll health that trigger health shows.

Trigger.state holds `{"cursor": ..., "for": <config fingerprint>, "health": {...}}`. Enabling
starts the cursor at "now"; saving an enabled workflow keeps it unless the config changed;
disabling drops it. Each new item becomes a PollEvent whose state has the cursor just past it.
A failed poll records its error; after STALL_AFTER failures in a row the trigger reports a
problem (trigger health) until a poll succeeds.
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from app.engine.errors import ActionError
from app.google.client import GoogleClient
from app.google.errors import RateLimitedError
from app.google.fields import connection_field
from app.google.tokens import Tokens
from app.models import Trigger
from app.models.base import utcnow
from app.triggers.base import BaseTriggerHandler, PollContext, PollEvent, TriggerConfig
from app.triggers.google.cursor import Watermark

STALL_AFTER = 3  # failed polls in a row before trigger health shows the trigger as stalled
MAX_EVENTS_PER_POLL = 100  # the rest fire on the next poll (the cursor stops at the last fired)
MAX_TEXT_CHARS = 20_000  # long texts (mail bodies, cells) are cut in trigger data


class GoogleTriggerConfig(TriggerConfig):
    """Base of the Google trigger configs: the connection to poll with."""

    connection_id: int = connection_field()


class Found:
    """What one poll found: new items as (id, data) and the cursor after each of them,
    plus the cursor to keep when nothing new fired (e.g. a baseline taken)."""

    def __init__(self, cursor: Any) -> None:
        self.events: list[tuple[dict[str, Any], Any]] = []
        self.cursor = cursor

    def add(self, data: dict[str, Any], cursor_after: Any) -> None:
        self.events.append((data, cursor_after))


def fingerprint(config: Mapping[str, Any]) -> str:
    """A short hash of a trigger config: a changed config restarts the cursor from now."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def clip(value: Any, limit: int = MAX_TEXT_CHARS) -> Any:
    """A text cut to `limit` characters (other values unchanged)."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


class GooglePollingTrigger(BaseTriggerHandler):
    """Base of the Google triggers: subclasses give `google_scopes`, `start` and `fetch`."""

    polling = True
    google_scopes: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def start(self, now: datetime) -> Any:
        """The cursor of a trigger enabled at `now` (JSON data; None: taken at the first poll)."""

    @abstractmethod
    def fetch(self, client: GoogleClient, config: Any, cursor: Any) -> Found:
        """Ask Google for what is new after `cursor`, oldest first. When items are found, the
        cursor after the last one is also `Found.cursor`."""

    def _config(self, trigger: Trigger) -> GoogleTriggerConfig:
        config = self.Config.model_validate(trigger.config)
        assert isinstance(config, GoogleTriggerConfig)
        return config

    # -- lifecycle ---------------------------------------------------------------------------

    def register(self, session: Session, trigger: Trigger) -> None:
        """Enabled (or saved while enabled): poll soon; a new or changed config starts now."""
        trigger.connection_id = self._config(trigger).connection_id
        state = dict(trigger.state or {})
        mark = fingerprint(trigger.config)
        if state.get("for") != mark or "cursor" not in state:
            state = {"for": mark, "cursor": self.start(utcnow()), "health": {}}
        trigger.state = state
        trigger.next_run_at = utcnow()

    def unregister(self, session: Session, trigger: Trigger) -> None:
        """Disabled: nothing is due, and enabling again starts from that moment."""
        trigger.next_run_at = None
        trigger.state = {}

    def problem(self, trigger: Trigger) -> str | None:
        """ "Stalled" after STALL_AFTER failed polls in a row, with the last error."""
        health = dict((trigger.state or {}).get("health") or {})
        failures = int(health.get("failures") or 0)
        if failures < STALL_AFTER:
            return None
        return (
            f"Polling Google failed {failures} times in a row; new items wait until it "
            f"works again. Last error: {health.get('error')}"
        )

    # -- one poll ----------------------------------------------------------------------------

    def poll(self, session: Session, trigger: Trigger, context: PollContext) -> list[PollEvent]:
        """New items since the cursor, each with the state to commit with its execution."""
        settings = context.settings
        now = utcnow()
        trigger.next_run_at = now + timedelta(seconds=settings.google_poll_interval)
        state = dict(trigger.state or {})
        if "cursor" not in state:  # enabled before this handler kept state: start now
            state = {"for": fingerprint(trigger.config), "cursor": self.start(now)}
        health = dict(state.get("health") or {})
        try:
            config = self._config(trigger)
            tokens = Tokens(context.session_factory, settings, context.secrets)
            owner_id = trigger.workflow.user_id
            client = GoogleClient(tokens, config.connection_id, owner_id, needs=self.google_scopes)
            found = self.fetch(client, config, state["cursor"])
        except RateLimitedError as exc:  # waiting for Google is not a failure
            wait = exc.retry_after or 0.0
            trigger.next_run_at = max(trigger.next_run_at, now + timedelta(seconds=wait))
            return []
        except (ActionError, ValueError) as exc:
            failures = int(health.get("failures") or 0) + 1
            health.update(failures=failures, error=str(exc)[:500], failed_at=now.isoformat())
            trigger.state = {**state, "health": health}
            return []
        healthy = {"failures": 0, "polled_at": now.isoformat()}
        events = []
        for data, cursor in found.events[:MAX_EVENTS_PER_POLL]:
            after = {**state, "cursor": cursor, "health": healthy}
            events.append(PollEvent(data=data, state=after))
        if len(found.events) <= MAX_EVENTS_PER_POLL:
            trigger.state = {**state, "cursor": found.cursor, "health": healthy}
        else:  # the rest next time: keep the cursor of the last item fired
            trigger.state = events[-1].state
            trigger.next_run_at = now
        return events


class WatermarkTrigger(GooglePollingTrigger):
    """A polling trigger for items created after it was enabled: its cursor is a Watermark."""

    def start(self, now: datetime) -> Any:
        return Watermark.starting(now).dump()
