"""Rate budgets of credentials and connections: steps take planned slots instead of failing.

A budget (`credentials.budget`, a kind's `default_budget`, or DEFAULT_BUDGETS for a service)
is a rate: `per_second` and/or `per_minute`. Slots are spaced by the budget's interval in a
shared counter (Redis when configured, else this process), so steps that share a credential
each get their own future slot, planned ahead, rather than all calling at once and meeting
429s. A step whose slot is close waits for it in place (up to INLINE_WAIT_SECONDS); a step
whose slot is further off keeps its reservation and is re-sent for that moment: it raises a
`RateLimitWait`, an ActionError with `rate_limited=True`, which the runner's `decide` retries
without counting it against the step's attempts. A 429 is the same kind of wait
(`rate_limited`): it also pushes the shared counter past the server's `Retry-After`, so the
other steps using that credential wait too.

A counter that cannot be reached (Redis down or emptied) paces nothing rather than failing
steps: a 429 then still makes the step wait.

The attempt line of such a wait carries `waiting: {"service", "until"}`: the execution page
reads it ("waiting for Slack's rate limit until 10:42:07").
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.engine.errors import ActionError

log = logging.getLogger(__name__)

INLINE_WAIT_SECONDS = 2.0  # a slot this close is waited for inside the attempt
MAX_RATE_WAITS = 50  # waits per step not counted as attempts; past them, waits count
RESERVATION_TTL_SECONDS = 3600.0  # a reservation whose step never came back is forgotten

# Defaults of the services whose limits are known (a kind's `default_budget` wins over these).
DEFAULT_BUDGETS: dict[str, dict[str, float]] = {
    "slack": {"per_second": 1.0},  # chat.postMessage: about one message a second
    "notion": {"per_second": 3.0},  # Notion: an average of three requests a second
    "telegram": {"per_second": 30.0},  # Bot API: 30 messages a second overall
    "discord": {"per_second": 2.5},  # webhooks: 5 requests per 2 seconds
    "google": {"per_second": 10.0},  # a user's share of Gmail/Sheets/Drive/Calendar quotas
}


@dataclass(frozen=True)
class RateBudget:
    """At most `per_second` requests a second and `per_minute` a minute (either may be None)."""

    per_second: float | None = None
    per_minute: float | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> RateBudget | None:
        """A budget from its stored JSON; None when it sets no positive rate."""
        if not data:
            return None
        rates = {}
        for name in ("per_second", "per_minute"):
            value = data.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value) and value > 0:
                    rates[name] = float(value)
        return cls(**rates) if rates else None

    @classmethod
    def for_service(cls, service: str) -> RateBudget | None:
        return cls.parse(DEFAULT_BUDGETS.get(service))

    @property
    def interval(self) -> float:
        """Seconds between two slots: the stricter of the two rates."""
        spacing = [1.0 / self.per_second] if self.per_second else []
        spacing += [60.0 / self.per_minute] if self.per_minute else []
        return max(spacing, default=0.0)


def credential_key(credential_id: Any) -> str:
    """The budget key of a stored credential: every step using it shares its slots."""
    return f"credential:{credential_id}"


class SlotStore(Protocol):
    """The shared counter: the next free slot per key, and reservations per holder."""

    def reserve(self, key: str, holder: str, interval: float, now: float, near: float) -> float:
        """The time `holder` may send under `key`: its reservation when it has one, else the
        next free slot. A slot more than `near` seconds off stays reserved for `holder`; a
        nearer one is taken (the reservation forgotten)."""
        ...

    def push_back(self, key: str, until: float) -> None:
        """No slot of `key` before `until` (the server asked to wait)."""
        ...


class MemorySlots:
    """The counter of one process (the embedded default: its worker threads share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._held: dict[tuple[str, str], float] = {}

    def reserve(self, key: str, holder: str, interval: float, now: float, near: float) -> float:
        with self._lock:
            slot = self._held.pop((key, holder), None)
            if slot is None:
                slot = max(self._next.get(key, 0.0), now)
                self._next[key] = slot + interval
            if slot > now + near:
                self._held[(key, holder)] = slot
            return slot

    def push_back(self, key: str, until: float) -> None:
        with self._lock:
            self._next[key] = max(self._next.get(key, 0.0), until)


# KEYS: next-slot key, reservations hash. ARGV: holder, interval, now, near, ttl (ms).
RESERVE_SCRIPT = """
local now = tonumber(ARGV[3])
local slot = redis.call('HGET', KEYS[2], ARGV[1])
if slot then
  slot = tonumber(slot)
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
  redis.call('SET', KEYS[1], string.format('%.6f', slot + tonumber(ARGV[2])), 'PX', ARGV[5])
end
if slot > now + tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[2], ARGV[1], string.format('%.6f', slot))
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return string.format('%.6f', slot)
"""
PUSH_BACK_SCRIPT = """
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%.6f', slot), 'PX', ARGV[2])
return string.format('%.6f', slot)
"""


class RedisSlots:
    """The counter in Redis, shared by every worker of the installation (one script a call)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis  # only where Redis is configured

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self._reserve = self.client.register_script(RESERVE_SCRIPT)
        self._push_back = self.client.register_script(PUSH_BACK_SCRIPT)
        self.ttl_ms = str(int(RESERVATION_TTL_SECONDS * 1000))
        self.errors = (redis.RedisError, OSError)

    def _keys(self, key: str) -> list[str]:
        return [f"{self.prefix}:budget:{key}", f"{self.prefix}:budget:{key}:held"]

    def reserve(self, key: str, holder: str, interval: float, now: float, near: float) -> float:
        args = [holder, repr(interval), repr(now), repr(near), self.ttl_ms]
        try:
            return float(self._reserve(keys=self._keys(key), args=args))
        except self.errors as exc:  # Redis down or emptied: steps go on, unpaced
            log.warning("rate budget counter unavailable (%s); not pacing", type(exc).__name__)
            return now

    def push_back(self, key: str, until: float) -> None:
        try:
            self._push_back(keys=self._keys(key)[:1], args=[repr(until), self.ttl_ms])
        except self.errors as exc:
            log.warning("rate budget counter unavailable (%s)", type(exc).__name__)


class BudgetSettings(Protocol):
    @property
    def redis_url(self) -> str | None: ...
    @property
    def queue_prefix(self) -> str: ...


_stores: dict[tuple[int, str | None], SlotStore] = {}
_stores_lock = threading.Lock()


def store_for(settings: BudgetSettings) -> SlotStore:
    """The counter of an app's settings: Redis when REDIS_URL is set, else this process's
    (one per settings object, so two test apps in one process never share one)."""
    key = (id(settings), settings.redis_url)
    with _stores_lock:
        if key not in _stores:
            url = settings.redis_url
            _stores[key] = RedisSlots(url, settings.queue_prefix) if url else MemorySlots()
        return _stores[key]


def forget(settings: BudgetSettings) -> None:
    """Drop the in-process counter of these settings (tests reuse an app with a new database);
    a Redis counter lives under the settings' queue prefix and is left alone."""
    with _stores_lock:
        _stores.pop((id(settings), None), None)


class RateLimitWait(ActionError):
    """The step waits for `service`'s rate limit (its budget, or a 429): it is sent again
    after `retry_after` seconds, and the wait does not count as one of its attempts."""

    retryable = True
    rate_limited = True

    def __init__(self, service: str, retry_after: float, message: str | None = None) -> None:
        super().__init__(
            message or f"Waiting for {service}'s rate limit ({retry_after:.1f} s).",
            retry_after=retry_after,
        )
        self.service = service


def take_slot(
    store: SlotStore,
    key: str,
    budget: RateBudget | None,
    service: str,
    holder: str,
    *,
    clock: Any = time.time,
    sleep: Any = time.sleep,
) -> None:
    """Take a slot of `key`'s budget for `holder` (a step): wait for it here when it is close,
    else keep it and raise RateLimitWait to be sent again when it comes."""
    interval = budget.interval if budget else 0.0
    now = clock()
    slot = store.reserve(key, holder, interval, now, INLINE_WAIT_SECONDS)
    if slot - now > INLINE_WAIT_SECONDS:  # kept for this step: it comes back for it
        raise RateLimitWait(service, slot - now)
    if slot > now:
        sleep(slot - now)


def rate_limited(
    store: SlotStore, key: str | None, service: str, retry_after: float | None, detail: str = ""
) -> RateLimitWait:
    """The error of a 429 from `service`: every step using `key` waits until it passes."""
    wait = 1.0 if retry_after is None else max(retry_after, 0.0)
    if key is not None:
        store.push_back(key, time.time() + wait)
    message = f"{service} asked to slow down (rate limit){': ' + detail if detail else ''}; "
    return RateLimitWait(service, wait, message + f"waiting {wait:.0f} s.")


# -- what the runner's decide() asks ------------------------------------------------------


def waits(attempt_log: list[dict[str, Any]]) -> int:
    """How many of these attempt lines were waits for a rate limit (not counted as attempts)."""
    return sum(1 for entry in attempt_log if entry.get("waiting"))


def waiting_line(
    error: ActionError, now: datetime, attempt_log: list[dict[str, Any]]
) -> dict[str, Any]:
    """What an attempt line adds when `error` is a rate-limit wait that is not counted as an
    attempt: `{"waiting": {"service", "until"}}`; else nothing."""
    if not getattr(error, "rate_limited", False) or waits(attempt_log) >= MAX_RATE_WAITS:
        return {}
    until = now + timedelta(seconds=error.retry_after or 0.0)
    service = getattr(error, "service", "") or "the service"
    return {"waiting": {"service": service, "until": until.isoformat()}}
