"""Settings: the user's API tokens (created and shown once, listed, revoked)."""

from __future__ import annotations

from flask import Response, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import db
from app.services.accounts import api_tokens
from app.web.blueprint import bp
from app.web.forms import TokenForm
from app.web.rendering import is_fragment_request, render


def _render_tokens(
    form: TokenForm, issued: api_tokens.IssuedToken | None = None, status: int = 200
) -> Response:
    response = render(
        "settings/show.html",
        "settings/_tokens.html",
        status=status,
        form=form,
        issued=issued,
        tokens=api_tokens.list_tokens(db.session(), current_user),
    )
    # The page may carry a secret shown once: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/settings")
@login_required
def settings_show() -> Response:
    """Account settings: API tokens."""
    return _render_tokens(TokenForm(formdata=None))


@bp.post("/settings/tokens")
@login_required
def token_create() -> Response:
    """Create an API token and show its secret, this once."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            issued = api_tokens.create_token(
                db.session(),
                current_user,
                form.name.data or "",
                scope=form.scope.data or api_tokens.WRITE,
                expires_in_days=int(form.expires_in_days.data or 0) or None,
            )
        except api_tokens.TokenError as exc:
            field = getattr(form, exc.field or "name", form.name)
            field.errors = [*field.errors, str(exc)]
        else:
            return _render_tokens(TokenForm(formdata=None), issued=issued, status=201)
    return _render_tokens(form, status=422)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int) -> Response | BaseResponse:
    """Revoke one of the user's tokens; it fails from the next request on."""
    token = api_tokens.get_token_or_404(db.session(), token_id, owner=current_user)
    api_tokens.revoke_token(db.session(), token)
    if is_fragment_request():
        return _render_tokens(TokenForm(formdata=None))
    flash(f"Token “{token.name}” revoked.", "success")
    return redirect(url_for("web.settings_show"))
