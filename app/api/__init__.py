"""The JSON API under /api/v1: bearer tokens, one error shape, an OpenAPI document.

The API takes no cookies: it authenticates only `Authorization: Bearer <token>`, so it is
exempt from CSRF. Registering the blueprint also binds what it needs on the app (the CSRF
exemption and its rate limiter), so that create_app registers it in one line.
"""

from __future__ import annotations

from flask import Flask
from flask.blueprints import BlueprintSetupState

from app.api import (  # noqa: F401  (routes register on bp)
    account,
    auth,
    connections,
    credentials,
    docs,
    errors,
    executions,
    registry,
    resume,
    step_tests,
    tokens,
    versions,
    workflows,
)
from app.api.blueprint import bp


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    from app.api import ratelimit
    from app.extensions import csrf

    assert isinstance(state.app, Flask)
    csrf.exempt(bp)
    ratelimit.init_app(state.app, bp)
