"""What the polling triggers share (Google, email over IMAP, Telegram): the poll loop around a
handler's `fetch_new`, the cursor kept in Trigger.state, and the poll health that trigger
health shows.

Trigger.state holds `{"cursor": ..., "for": <config fingerprint>, "health": {...}}`. Enabling
starts the cursor at "now"; saving an enabled workflow keeps it unless the watched thing changed
(the fingerprint leaves secret fields out: a new password keeps the cursor); disabling drops it.
Each new item becomes a PollEvent whose state has the cursor just past it, committed with that
item's execution. A poll the service rate-limits (an ActionError with `rate_limited`) waits for
its `retry_after` and is not a failure; a failed poll records its error; after STALL_AFTER
failures in a row the trigger reports a problem (trigger health) until a poll succeeds.
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
from app.models import Trigger
from app.models.base import utcnow
from app.settings import Settings
from app.triggers.base import BaseTriggerHandler, PollContext, PollEvent, TriggerConfig

STALL_AFTER = 3  # failed polls in a row before trigger health shows the trigger as stalled
MAX_EVENTS_PER_POLL = 100  # the rest fire on the next poll (the cursor stops at the last fired)
MAX_TEXT_CHARS = 20_000  # long texts (mail bodies, cells) are cut in trigger data


class Found:
    """What one poll found: new items as (data, cursor after it), plus the cursor to keep when
    nothing new fired (e.g. a baseline taken)."""

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


class CursorPollingTrigger(BaseTriggerHandler):
    """Base of the polling triggers with a cursor: subclasses give `service`, `start`,
    `fetch_new` and, when not the default, `poll_interval`."""

    polling = True
    service: ClassVar[str] = "the service"  # in trigger health's words: "Polling Google failed"

    @abstractmethod
    def start(self, now: datetime) -> Any:
        """The cursor of a trigger enabled at `now` (JSON data; None: taken at the first poll)."""

    @abstractmethod
    def fetch_new(self, trigger: Trigger, config: Any, cursor: Any, context: PollContext) -> Found:
        """What is new after `cursor`, oldest first. When items are found, the cursor after the
        last one is also `Found.cursor`. Raises ActionError (or ValueError) when it fails."""

    def poll_interval(self, settings: Settings) -> float:
        """Seconds between two polls of one trigger."""
        return settings.poll_interval

    def _config(self, trigger: Trigger) -> TriggerConfig:
        return self.Config.model_validate(trigger.config)

    def _fingerprint(self, trigger: Trigger) -> str:
        secret = self.secret_fields()
        return fingerprint({k: v for k, v in (trigger.config or {}).items() if k not in secret})

    # -- lifecycle ---------------------------------------------------------------------------

    def register(self, session: Session, trigger: Trigger) -> None:
        """Enabled (or saved while enabled): poll soon; a new or changed config starts now."""
        state = dict(trigger.state or {})
        mark = self._fingerprint(trigger)
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
            f"Polling {self.service} failed {failures} times in a row; new items wait until it "
            f"works again. Last error: {health.get('error')}"
        )

    # -- one poll ----------------------------------------------------------------------------

    def poll(self, session: Session, trigger: Trigger, context: PollContext) -> list[PollEvent]:
        """New items since the cursor, each with the state to commit with its execution."""
        now = utcnow()
        trigger.next_run_at = now + timedelta(seconds=self.poll_interval(context.settings))
        state = dict(trigger.state or {})
        if "cursor" not in state:  # enabled before this handler kept state: start now
            state = {"for": self._fingerprint(trigger), "cursor": self.start(now)}
        health = dict(state.get("health") or {})
        try:
            found = self.fetch_new(trigger, self._config(trigger), state["cursor"], context)
        except (ActionError, ValueError) as exc:
            if isinstance(exc, ActionError) and exc.rate_limited:  # waiting is not a failure
                wait = exc.retry_after or 0.0
                trigger.next_run_at = max(trigger.next_run_at, now + timedelta(seconds=wait))
                return []
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
