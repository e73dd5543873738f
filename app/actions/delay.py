"""Delay action: wait for a while, or until a date and time, without holding a worker thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.engine.errors import ActionError, Suspend
from app.engine.templating import has_template

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_DELAY_SECONDS = 30 * 86400
EXAMPLE = "2026-12-24 09:00"


class DelayConfig(ActionConfig):
    mode: Literal["for", "until"] = Field(
        "for",
        title="Wait",
        description="For a while (an amount of time), or until a date and time.",
    )
    amount: float | None = Field(
        None,
        gt=0,
        validate_default=True,
        description="How long to wait (up to 30 days).",
        json_schema_extra={"shown_when": {"mode": "for"}},
    )
    unit: Literal["seconds", "minutes", "hours", "days"] = Field(
        "seconds", json_schema_extra={"shown_when": {"mode": "for"}}
    )
    until: str | None = Field(
        None,
        max_length=200,
        validate_default=True,
        title="Until",
        description=f"A date and time within 30 days, e.g. {EXAMPLE}, or a template such as "
        "{{ trigger.due_at }}. Without an offset (+01:00) it is read in the workflow's time "
        "zone. A time already past continues at once.",
        json_schema_extra={"shown_when": {"mode": "until"}},
    )

    @field_validator("amount")
    @classmethod
    def _amount_for_a_while(cls, amount: float | None, info: ValidationInfo) -> float | None:
        if info.data.get("mode", "for") == "for" and amount is None:
            raise PydanticCustomError(
                "delay_amount",
                "Give how long to wait (or choose to wait until a date and time).",
            )
        return amount

    @field_validator("until")
    @classmethod
    def _until_a_time(cls, until: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mode") != "until":
            return until  # waiting for a while: a value left here is not used
        if not (until or "").strip():
            raise PydanticCustomError(
                "delay_until", f"Give the date and time to wait until, e.g. {EXAMPLE}."
            )
        assert until is not None
        if not has_template(until) and parse_local(until) is None:
            raise PydanticCustomError(
                "delay_until_format",
                f"Write a date and time such as {EXAMPLE} or 2026-12-24T09:00:00+01:00.",
            )
        return until


def parse_local(text: str) -> datetime | None:
    """An ISO 8601 date and time ("2026-12-24 09:00", "2026-12-24T09:00:00Z", with or without
    an offset; a date alone is its midnight); None when the text is not one."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class DelayAction(BaseActionHandler):
    """Wait for a while, or until a date and time, then continue with the next step."""

    type = "delay"
    category = "Flow"
    name = "Delay"
    description = (
        "Wait for a while or until a date and time (up to 30 days), then continue with the "
        "next step."
    )
    Config = DelayConfig

    def execute(self, context: StepContext, config: DelayConfig) -> dict[str, Any]:
        now = datetime.now(UTC)
        if config.mode == "until":
            raise wait_until(now, str(config.until), context.execution.timezone)
        assert config.amount is not None
        seconds = config.amount * UNIT_SECONDS[config.unit]
        if seconds > MAX_DELAY_SECONDS:
            raise ActionError(
                f"A delay waits at most 30 days; {config.amount:g} {config.unit} is longer.",
                retryable=False,
            )
        resume_at = now + timedelta(seconds=seconds)
        raise Suspend(seconds, {"waited_seconds": seconds, "resume_at": resume_at.isoformat()})


def wait_until(now: datetime, text: str, zone_name: str) -> Suspend:
    """The wait until `text` (read in `zone_name` when it has no offset), or a step error."""
    parsed = parse_local(text)
    if parsed is None:
        raise ActionError(
            f"“{text[:100]}” is not a date and time; write one such as {EXAMPLE}.",
            retryable=False,
        )
    zone = _zone(zone_name)
    given_offset = parsed.tzinfo is not None
    local = parsed.astimezone(zone) if given_offset else parsed.replace(tzinfo=zone)
    resume_at = local.astimezone(UTC)
    seconds = (resume_at - now).total_seconds()
    if seconds > MAX_DELAY_SECONDS:
        raise ActionError(
            f"{local.isoformat(sep=' ', timespec='minutes')} ({zone.key}) is more than 30 days "
            "away; a delay waits at most 30 days.",
            retryable=False,
        )
    output: dict[str, Any] = {
        "until": text,
        "timezone": zone.key,
        "resume_at": resume_at.isoformat(),
        "resume_at_local": local.isoformat(),
        "waited_seconds": max(seconds, 0.0),
    }
    if given_offset:
        output["offset"] = parsed.strftime("%z")[:3] + ":" + parsed.strftime("%z")[3:5]
    if seconds <= 0:
        output["note"] = "That time had already passed: the run went on at once."
    return Suspend(max(seconds, 0.0), output)
