"""Public webhook ingress: /hooks/<token> (and the editor's test URL, /hooks/test/<token>).

No login and no CSRF token: a webhook is authenticated by its unguessable URL and, when
configured, by a signature over the raw body. Every answer is JSON. Registering the blueprint
also binds what it needs on the app (the CSRF exemption and its admission checks).
"""

from __future__ import annotations

from flask import Flask
from flask.blueprints import BlueprintSetupState

from app.hooks import errors, ingress  # noqa: F401  (routes register on bp)
from app.hooks.blueprint import bp


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    from app.extensions import csrf

    assert isinstance(state.app, Flask)
    csrf.exempt(bp)
    bind_admission(state.app)


def bind_admission(app: Flask) -> None:
    """Give `app` fresh admission checks (rate counters start at zero)."""
    from app.config import settings_of
    from app.services.admission import Admission
    from app.tasks import queue_depth

    app.extensions["stepline.admission"] = Admission(settings_of(app), queue_depth)
