"""Rate limiting of the API with Flask-Limiter: one budget per user across all endpoints.

Counters live in Redis when REDIS_URL is set (shared by every web process), else in memory.
A breach answers 429 in the API's error shape with `Retry-After`. A storage outage is logged
and lets requests through rather than failing the API.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response
from flask_limiter import Limiter, RequestLimit

from app.api.auth import rate_limit_key
from app.config import settings_of
from app.errors import json_error
from app.extensions import container


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
    return limiter
