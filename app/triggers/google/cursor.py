"""The cursor of a time-ordered Google trigger (Gmail, Drive, Calendar): a watermark and the
ids seen near it.

Each item has an id and a time (Gmail's internalDate, Drive's createdTime, Calendar's created).
`floor` is when the trigger was enabled: nothing older fires. `mark` is the newest time fired
so far. Google can list an item a little after a newer one (indexing lag), so each poll asks
from `mark - LAG` and skips the ids already fired there (`seen`, pruned as `mark` moves on).
The state after each item is what commits with that item's execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

LAG = timedelta(minutes=10)


@dataclass(frozen=True)
class Item:
    """One thing a trigger found: its id, its time, and the trigger data it fires with."""

    id: str
    at: datetime
    data: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class Watermark:
    """floor, mark and seen ids; stored in Trigger.state as JSON."""

    floor: datetime
    mark: datetime
    seen: Mapping[str, str] = field(default_factory=dict)  # id → ISO time

    @classmethod
    def starting(cls, now: datetime) -> Watermark:
        """A cursor that fires only what happens from `now` on."""
        return cls(floor=now, mark=now)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Watermark:
        return cls(
            floor=datetime.fromisoformat(str(data["floor"])),
            mark=datetime.fromisoformat(str(data["mark"])),
            seen={str(k): str(v) for k, v in dict(data.get("seen") or {}).items()},
        )

    def dump(self) -> dict[str, Any]:
        return {
            "floor": self.floor.isoformat(),
            "mark": self.mark.isoformat(),
            "seen": dict(self.seen),
        }

    @property
    def since(self) -> datetime:
        """The earliest time a poll asks Google for."""
        return max(self.floor, self.mark - LAG)

    def new(self, items: Iterable[Item]) -> list[Item]:
        """The items that have not fired yet, oldest first (each id once)."""
        fresh: dict[str, Item] = {}
        for item in items:
            if item.at >= self.since and item.id not in self.seen:
                fresh.setdefault(item.id, item)
        return sorted(fresh.values(), key=lambda item: (item.at, item.id))

    def after(self, item: Item) -> Watermark:
        """The cursor once `item` has fired."""
        mark = max(self.mark, item.at)
        horizon = mark - LAG
        seen = {key: at for key, at in self.seen.items() if datetime.fromisoformat(at) >= horizon}
        seen[item.id] = item.at.isoformat()
        return Watermark(self.floor, mark, seen)
