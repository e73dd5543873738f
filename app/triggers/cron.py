"""Cron slots in an IANA time zone: the wall-clock times a cron expression names, as UTC instants.

A slot is a wall-clock time the expression matches, placed in the zone. Across DST changes:

- a wall time that a spring-forward change skips runs at the offset in force before the change
  (02:30 on a night that jumps from 02:00 to 03:00 runs at 03:30, new time);
- a wall time that a fall-back change repeats runs once, at its first occurrence.

Slots are UTC instants compared as such: two wall times that land on one instant are one slot.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadDateError, CroniterError, croniter

ALIASES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
# Wall time and UTC differ by at most a few hours, and DST moves the offset by at most two.
MARGIN = timedelta(hours=3)
FIELDS_HELP = "minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'"


@functools.cache
def time_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows."""
    return frozenset(zoneinfo.available_timezones())


def parse_zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA zone, or ValueError with a message a person can act on."""
    if name not in time_zones():
        raise ValueError(
            f"Unknown time zone {name!r}: use an IANA name such as Europe/Paris, "
            "America/New_York or UTC."
        )
    return zoneinfo.ZoneInfo(name)


def check_expression(expression: str) -> str:
    """The expression, normalized; ValueError naming what is wrong with it."""
    expression = " ".join(expression.split())
    if expression.startswith("@"):
        if expression.lower() not in ALIASES:
            raise ValueError(f"Unknown cron alias {expression!r}: use one of {sorted(ALIASES)}.")
        return expression.lower()
    fields = expression.split(" ") if expression else []
    if len(fields) != 5:
        raise ValueError(
            f"A cron expression has 5 fields ({FIELDS_HELP}); {expression!r} has {len(fields)}."
        )
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(f"The cron expression {expression!r} never matches a date.") from None
    except (CroniterError, ValueError) as exc:
        raise ValueError(
            f"Not a valid cron expression ({FIELDS_HELP}): {expression!r} ({exc})."
        ) from None
    return expression


@dataclass(frozen=True)
class CronSchedule:
    """A cron expression in a zone; every method takes and returns aware UTC datetimes."""

    expression: str
    zone: zoneinfo.ZoneInfo

    @classmethod
    def parse(cls, expression: str, zone: str) -> CronSchedule:
        return cls(check_expression(expression), parse_zone(zone))

    def _instant(self, wall: datetime) -> datetime:
        # fold=0: a repeated wall time is its first occurrence; a skipped one keeps the old offset
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def _near_change(self, instant: datetime) -> bool:
        """True when the zone's offset changes within two margins of `instant`."""
        before = (instant - 2 * MARGIN).astimezone(self.zone).utcoffset()
        after = (instant + 2 * MARGIN).astimezone(self.zone).utcoffset()
        return before != after

    def next_after(self, after: datetime) -> datetime:
        """The first slot strictly after `after`."""
        after = after.astimezone(UTC)
        near = self._near_change(after)
        start = self._wall(after) - (MARGIN if near else timedelta(0))
        walls = croniter(self.expression, start)
        best: datetime | None = None
        first_wall: datetime | None = None
        while True:
            wall = walls.get_next(datetime)
            if first_wall is not None and wall > first_wall + MARGIN:
                break
            instant = self._instant(wall)
            if instant <= after:
                continue
            if first_wall is None:
                if not (near or self._near_change(instant)):
                    return instant
                first_wall = wall
            best = instant if best is None else min(best, instant)
        assert best is not None
        return best

    def latest_at_or_before(self, at: datetime) -> datetime:
        """The last slot at or before `at`."""
        at = at.astimezone(UTC)
        near = self._near_change(at)
        start = self._wall(at) + timedelta(seconds=1) + (MARGIN if near else timedelta(0))
        walls = croniter(self.expression, start)
        best: datetime | None = None
        first_wall: datetime | None = None
        while True:
            wall = walls.get_prev(datetime)
            if first_wall is not None and wall < first_wall - MARGIN:
                break
            instant = self._instant(wall)
            if instant > at:
                continue
            if first_wall is None:
                if not (near or self._near_change(instant)):
                    return instant
                first_wall = wall
            best = instant if best is None else max(best, instant)
        assert best is not None
        return best

    def upcoming(self, after: datetime, count: int = 5) -> list[datetime]:
        """The next `count` slots after `after`, in the schedule's zone (for people to read)."""
        slots: list[datetime] = []
        current = after
        for _ in range(count):
            current = self.next_after(current)
            slots.append(current.astimezone(self.zone))
        return slots
