"""Rate limiting of the API with Flask-Limiter: one budget per user across all endpoints.

Counters live in Redis when REDIS_URL is set (shared by every web process), else in memory.
A breach answers 429 in the API's error shape with `Retry-After`. A storage outage is logged
and lets requests through rather than failing the API.

Every answer under /api/v1 (errors, 401s and unknown paths included) tells the caller its budget
in the IETF draft's fields (draft-ietf-httpapi-ratelimit-headers-07): `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window resets) and
`RateLimit-Policy` (`100;w=60`). Flask-Limiter's own headers are off: it writes the reset as a
timestamp (the draft wants seconds) and a `Retry-After` on every answer.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter, RequestLimit
from limits import RateLimitItem, parse

from app.api.auth import rate_limit_key
from app.config import settings_of
from app.errors import json_error
from app.extensions import container

log = logging.getLogger(__name__)


def _api_limit() -> str:
    return container().settings.api_rate_limit


def _too_many_requests(limit: RequestLimit) -> Response:
    retry_after = max(1, int(limit.reset_at - time.time()))
    return json_error(
        429,
        "rate_limited",
        f"Too many requests (limit: {limit.limit}). Retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


def init_app(app: Flask, bp: Blueprint) -> Limiter:
    """Bind a limiter to `app` that applies API_RATE_LIMIT to every route of `bp`."""
    settings = settings_of(app)
    limiter = Limiter(
        key_func=rate_limit_key,
        storage_uri=settings.limit_storage_uri,
        strategy=settings.ratelimit_strategy,
        # Runs sharing one Redis (tests, several installs) never share counters.
        key_prefix=f"{settings.queue_prefix}:ratelimit",
        on_breach=_too_many_requests,
        swallow_errors=True,
        headers_enabled=False,
    )
    limiter.shared_limit(_api_limit, scope="api")(bp)
    limiter.init_app(app)
    # Only the API has limits here (webhooks count theirs in app/services/executions/admission): its
    # check runs before the API's requests alone (first, before authentication, so that
    # unauthenticated floods are limited too), not on every page and webhook delivery.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.before_request_funcs.setdefault(bp.name, []).insert(0, limiter._check_request_limit)
    app.extensions["api_limiter"] = limiter
    app.after_request(_rate_limit_headers)
    return limiter


def _budget(limiter: Limiter) -> tuple[RateLimitItem, int, float]:
    """The API limit, what is left of it and when it resets, for this request's caller: as
    counted by this request's check, or (a path no API route matched, where no check ran) as
    stored, without counting the request."""
    current = limiter.current_limit
    if current is not None:
        reset_at, remaining = current.window  # RequestLimit.reset_at adds a second
        return current.limit, remaining, reset_at
    item = parse(_api_limit())
    prefix = f"{settings_of(current_app).queue_prefix}:ratelimit"
    reset_at, remaining = limiter.limiter.get_window_stats(item, prefix, rate_limit_key(), "api")
    return item, remaining, reset_at


def _rate_limit_headers(response: Response) -> Response:
    if not request.path.startswith("/api/"):
        return response
    try:
        item, remaining, reset_at = _budget(current_app.extensions["api_limiter"])
    except Exception:  # the counters' storage is down: answer without the headers
        log.warning("rate-limit headers left out: the limiter's storage failed", exc_info=True)
        return response
    response.headers["RateLimit-Limit"] = str(item.amount)
    response.headers["RateLimit-Remaining"] = str(max(0, remaining))
    response.headers["RateLimit-Reset"] = str(max(0, math.ceil(reset_at - time.time())))
    response.headers["RateLimit-Policy"] = f"{item.amount};w={item.get_expiry()}"
    return response
