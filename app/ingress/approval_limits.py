"""A small budget of decisions on the public approval page: per client address, and per
request (step run). A valid URL is needed to get past the token check at all; the budgets only
keep a client from hammering the database through one (or many) of them.

Counters live where the other rate limits' do (RATELIMIT_STORAGE_URI, else REDIS_URL, else
this process's memory), one limiter per app; an outage of the counter store lets decisions
through rather than refusing every approver.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis import RedisError

from app.extensions import container

log = logging.getLogger(__name__)

EXTENSION = "stepline.approval_limiter"
PER_ADDRESS = parse("30 per minute")
PER_REQUEST = parse("5 per minute")


def _limiter() -> FixedWindowRateLimiter:
    limiter: FixedWindowRateLimiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None:  # one per app, built by its first decision (a race builds two: harmless)
        storage = storage_from_string(container().settings.limit_storage_uri)
        limiter = current_app.extensions[EXTENSION] = FixedWindowRateLimiter(storage)
    return limiter


def wait_seconds(address: str, request_key: str) -> int | None:
    """Count a decision from `address` on the request `request_key`; None when both are within
    their budget, else the seconds until the exhausted budget's window ends."""
    prefix = f"{container().settings.queue_prefix}:approval"
    try:
        limiter = _limiter()
        for item, key in ((PER_ADDRESS, f"address:{address}"), (PER_REQUEST, request_key)):
            if not limiter.hit(item, prefix, key):
                return _reset_in(limiter, item, prefix, key)
    except (RedisError, OSError) as exc:  # the counter store is down: let the approver in
        log.warning("approval rate limit unavailable: %s", type(exc).__name__)
    return None


def _reset_in(limiter: FixedWindowRateLimiter, item: RateLimitItem, *keys: str) -> int:
    reset_at, _remaining = limiter.get_window_stats(item, *keys)
    return max(1, math.ceil(reset_at - time.time()))
