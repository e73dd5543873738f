"""Public ingress: webhooks at /hooks/<token> (and the editor's test URL, /hooks/test/<token>);
waiting steps' resume URLs at /resume/<token> (a call, `resume`; the approval page, `approval`).

No login and no CSRF token: a webhook is authenticated by its unguessable URL and, when
configured, by a signature over the raw body; a resume URL by its URL alone. Webhooks and
calls answer JSON, the approval page HTML. Registering the blueprints exempts them from CSRF
protection; admission checks are the app container's.
"""

from __future__ import annotations

from flask import Flask
from flask.blueprints import BlueprintSetupState

from app.extensions import csrf
from app.ingress import approval, errors, resume, views  # noqa: F401  (routes register)
from app.ingress.blueprint import bp
from app.ingress.resume_blueprint import resume_bp


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    assert isinstance(state.app, Flask)
    csrf.exempt(bp)


@resume_bp.record_once
def _setup_resume(state: BlueprintSetupState) -> None:
    csrf.exempt(resume_bp)  # the URL is the credential (app.engine.resume_urls)
