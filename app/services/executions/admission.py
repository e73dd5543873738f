"""Admission of work from outside: per-webhook rate limits and queue back-pressure.

DESIGN, execution semantics 8: ingress never builds a silent backlog. A webhook over its rate
limit, or any trigger while the step queue is deeper than MAX_QUEUE_DEPTH, is refused with
429 and Retry-After (senders retry); schedules and polls wait for a later tick instead.
Counters live in Redis when REDIS_URL is set (shared by every web process; counted in leases,
`rate_leases`), else in memory.
An outage of the counter store lets requests through rather than refusing every webhook.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import dramatiq.errors
import redis
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis import RedisError

from app.engine.runner import Send, ring
from app.services.errors import TooManyRequestsError
from app.services.executions.rate_leases import LeasedWindows
from app.settings import Settings

log = logging.getLogger(__name__)

QUEUE_RETRY_AFTER = 2  # seconds: the queue drains at hundreds of messages a second
DEPTH_CACHE_SECONDS = 0.25  # one queue-length query per process per quarter second


class LocalWindows:
    """Fixed-window counters in this process, for the embedded default (one process, no
    Redis); cheaper than the `limits` memory storage, which starts a timer thread per hit."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, count)
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, scope: str, now: float) -> float | None:
        """Count a hit; None when within the limit, else seconds until the window ends."""
        period = item.get_expiry()
        window = int(now // period)
        key = item.key_for("webhook", scope)
        with self._lock:
            current, count = self._windows.get(key, (window, 0))
            count = count + 1 if current == window else 1
            self._windows[key] = (window, count)
        return None if count <= item.amount else (window + 1) * period - now


class Admission:
    """The checks a trigger passes before an execution is created. One per app, thread-safe."""

    def __init__(
        self,
        settings: Settings,
        depth: Callable[[], int | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.limits = parse_many(settings.webhook_rate_limit)
        self._limiter: LeasedWindows | FixedWindowRateLimiter | None = None
        self._local = LocalWindows()
        self.max_depth = settings.max_queue_depth
        self._depth = depth
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, int | None] = (-math.inf, None)

    @property
    def limiter(self) -> LeasedWindows | FixedWindowRateLimiter | None:
        """The shared (Redis) limiter, built on first use: leases on a plain Redis URL, the
        `limits` library hit by hit on its other Redis schemes (Sentinel, Cluster); None when
        counting in process."""
        uri = self.settings.limit_storage_uri
        if not uri.startswith("redis"):
            return None
        with self._lock:
            if self._limiter is None:
                prefix = f"{self.settings.queue_prefix}:webhook-limits"
                if uri.startswith(("redis://", "rediss://")):
                    self._limiter = LeasedWindows(_client(uri), prefix)
                else:
                    storage = storage_from_string(uri, key_prefix=prefix)
                    self._limiter = FixedWindowRateLimiter(storage)
            return self._limiter

    def _wait(self, item: RateLimitItem, scope: str) -> float | None:
        limiter = self.limiter
        if limiter is None:
            return self._local.hit(item, scope, time.time())
        if isinstance(limiter, LeasedWindows):
            return limiter.hit(item, scope)
        if limiter.hit(item, "webhook", scope):
            return None
        return limiter.get_window_stats(item, "webhook", scope).reset_time - time.time()

    def check_rate(self, scope: str) -> None:
        """Count one request against `scope` (e.g. a webhook); TooManyRequestsError past the
        limit."""
        for item in self.limits:
            try:
                wait = self._wait(item, scope)
            except (RedisError, OSError):
                log.warning("rate-limit store unavailable; webhook %s let through", scope)
                return
            if wait is None:
                continue
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequestsError(
                f"Too many requests to this webhook (limit: {item}). Retry in {retry_after} s.",
                retry_after,
            )

    def queue_depth(self) -> int | None:
        """Messages waiting in the step queue (cached briefly), or None when unknown."""
        now = self._clock()
        with self._lock:
            at, value = self._cached
            if now - at < DEPTH_CACHE_SECONDS:
                return value
        try:
            value = self._depth()
        except (RedisError, OSError):
            log.warning("queue depth unavailable; back-pressure check skipped")
            value = None
        with self._lock:
            self._cached = (now, value)
        return value

    def queue_full(self) -> bool:
        depth = self.queue_depth()
        return depth is not None and depth >= self.max_depth

    def check_queue(self) -> None:
        """TooManyRequestsError while the step queue is over MAX_QUEUE_DEPTH."""
        if self.queue_full():
            raise TooManyRequestsError(
                "Too much work is waiting; retry shortly.", retry_after=QUEUE_RETRY_AFTER
            )


def tolerant(send: Send) -> Send:
    """A doorbell that a broker outage cannot turn into an error after the commit: the
    execution is stored, so recovery re-sends its message once the lease runs out."""

    def ring_tolerantly(
        execution_id: int, position: int, attempt: int, delay: float, frame: str = ""
    ) -> None:
        try:
            ring(send, execution_id, position, attempt, delay, frame)
        except (RedisError, OSError, dramatiq.errors.BrokerConnectionError):
            log.warning("could not send execution %s; recovery will re-send it", execution_id)

    return ring_tolerantly


def _client(uri: str) -> redis.Redis:
    """A Redis client that cannot hang a delivery on a silent server."""
    return redis.Redis.from_url(uri, socket_timeout=5, socket_connect_timeout=5)
