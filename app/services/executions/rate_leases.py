"""Webhook rate limits counted in Redis in leases: a process takes several of a window's hits at
once and spends them locally, so that a busy webhook costs a round trip to Redis every few
requests rather than on each one.

A window is a Redis counter that expires `period` after its first hit (fixed windows, as the
`limits` library counts them). The counter never passes the limit: the script grants what is
left, up to the lease asked for, and the process keeps the grant only until the window ends
(its time measured before asking, plus the counter's remaining time measured after). So no
window ever admits more than its limit, across any number of processes (but for a counter
Redis loses, a restart or an eviction: a new window starts while the leases taken from the
old one run out, at most one lease per process more in that window). The price: hits a
process holds unspent are lost to the others, so a window may refuse a little early, by at
most a lease per other process. A lease is 1/LEASE_SHARE of the limit, at most LEASE_MAX: a
limit of 5/hour is counted hit by hit, 100/second (the default) in leases of 3.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem

LEASE_SHARE = 32
LEASE_MAX = 32
_PRUNE_AT = 1024  # leases kept before the expired ones are dropped

# KEYS[1] the window's counter; ARGV: the lease asked for, the limit, the window in ms.
# Returns {hits granted (0: the window is spent), the window's remaining ms}.
_LEASE = """
local used = tonumber(redis.call('get', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if grant < 1 then
    return {0, redis.call('pttl', KEYS[1])}
end
redis.call('incrby', KEYS[1], grant)
local left = redis.call('pttl', KEYS[1])
if left < 0 then
    redis.call('pexpire', KEYS[1], ARGV[3])
    left = tonumber(ARGV[3])
end
return {grant, left}
"""


def lease_size(item: RateLimitItem) -> int:
    return max(1, min(LEASE_MAX, item.amount // LEASE_SHARE))


@dataclass
class _Lease:
    left: int  # hits still to spend
    until: float  # time.monotonic() when the window ends, at the latest


class LeasedWindows:
    """Fixed-window counters shared through Redis, spent from leases. Thread-safe."""

    def __init__(self, client: Any, prefix: str, clock: Any = time.monotonic) -> None:
        self._script = client.register_script(_LEASE)
        self._prefix = prefix
        self._clock = clock
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, scope: str) -> float | None:
        """Count a hit; None when within the limit, else seconds until the window ends."""
        key = f"{self._prefix}:{item.key_for('webhook', scope)}"
        asked_at = self._clock()
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease.left > 0 and lease.until > asked_at:
                lease.left -= 1
                return None
        period_ms = item.get_expiry() * 1000
        granted, left_ms = self._script(keys=[key], args=[lease_size(item), item.amount, period_ms])
        left = int(left_ms) / 1000 if int(left_ms) >= 0 else float(item.get_expiry())
        if int(granted) < 1:
            return left
        with self._lock:
            if len(self._leases) >= _PRUNE_AT:
                self._leases = {k: v for k, v in self._leases.items() if v.until > asked_at}
            # Another thread's lease for the key, if any, is dropped: early refusal, never more
            self._leases[key] = _Lease(int(granted) - 1, asked_at + left)
        return None
