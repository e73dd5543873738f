"""Throttling of the login and registration pages with Flask-Limiter (a limiter of their own;
the API's is app/api/ratelimit.py).

Only failures count (an answer 422: wrong email or password, a refused registration), against
two budgets of LOGIN_RATE_LIMIT each: the client's address, and the email typed. Past either
budget the page answers 429 with `Retry-After` and a message beside the form; the right
password does not get through either until the window ends. Counters live where the API's do
(RATELIMIT_STORAGE_URI, else REDIS_URL, else memory), so that every web process shares them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from app.config import settings_of
from app.extensions import container
from app.web.forms import LoginForm, RegisterForm
from app.web.rendering import render

EXTENSION = "login_limiter"
LIMITED = {"web.auth_login": "auth/login.html", "web.auth_register": "auth/register.html"}
FAILED = 422


def _limit() -> str:
    return container().settings.login_rate_limit


def _by_address() -> str:
    return f"address:{get_remote_address()}"


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()


def _by_account() -> str:
    """The email typed, as the service would find it (no email: exempt, below)."""
    return f"account:{_email()}"


def _no_email() -> bool:
    return not _email()


def _failed(response: Response) -> bool:
    return response.status_code == FAILED


def retry_after(limit: RequestLimit) -> int:
    return max(1, int(limit.reset_at - time.time()))


def _too_many_attempts(limit: RequestLimit) -> Response:
    """The page again, its form as typed (never the password), with why and for how long."""
    wait = retry_after(limit)
    form = LoginForm() if request.endpoint == "web.auth_login" else RegisterForm()
    message = (
        f"Too many failed attempts. Wait {wait} second{'s' if wait != 1 else ''} and try again."
    )
    response = render(LIMITED[request.endpoint or "web.auth_login"], form=form, throttled=message)
    response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response


def init_app(app: Flask) -> Limiter:
    """Bind a limiter to `app` that throttles failures on the login and registration views
    (wrapped in this app's view table: limiters of other apps never see them)."""
    settings = settings_of(app)
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=settings.limit_storage_uri,
        strategy="fixed-window",
        key_prefix=f"{settings.queue_prefix}:login-limit",
        on_breach=_too_many_attempts,
        swallow_errors=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    # Nothing here limits every request: only the wrapped views check their budgets.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    for endpoint in LIMITED:
        view: Callable[..., Any] = app.view_functions[endpoint]
        view = limiter.limit(_limit, key_func=_by_address, methods=["POST"], deduct_when=_failed)(
            view
        )
        view = limiter.limit(
            _limit,
            key_func=_by_account,
            methods=["POST"],
            deduct_when=_failed,
            exempt_when=_no_email,
        )(view)
        app.view_functions[endpoint] = view
    app.extensions[EXTENSION] = limiter
    return limiter
