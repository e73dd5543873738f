"""Credentials on the Connections page: create (a kind's form from its model), edit (rename,
rotate secrets), test, delete (asking first when workflows use it)."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.credentials.registry import KindRegistry, installed_kinds
from app.extensions import container, db
from app.models import Credential
from app.services.credentials import manage, views
from app.services.credentials.references import using
from app.services.errors import ConflictError, InvalidInputError
from app.web.blueprint import bp
from app.web.credential_forms import form_fields
from app.web.rendering import render


def kinds() -> KindRegistry:
    return installed_kinds()


def credential_views(owner_id: int) -> list[views.CredentialView]:
    """The user's credentials, masked, for the Connections page."""
    box = container().secrets
    return [views.view(c, box, kinds()) for c in manage.list_credentials(db.session(), owner_id)]


def _posted_fields(kind_name: str) -> dict[str, Any]:
    kind = kinds().get(kind_name)
    return {name: request.form.get(f"field-{name}", "") for name in kind.Fields.model_fields}


def _form(
    kind_name: str,
    credential: Credential | None = None,
    *,
    error: InvalidInputError | ConflictError | None = None,
    status: int = 200,
) -> Response:
    """The kind's form: new, or the credential's (secrets masked); after a refused post, what
    was typed (never a secret) with the message beside its field."""
    kind = kinds().get(kind_name)
    values = views.view(credential, container().secrets, kinds()).fields if credential else {}
    if error is not None:
        posted = _posted_fields(kind_name)
        values = {**values, **{k: v for k, v in posted.items() if k not in kind.secret_fields()}}
    field = error.field or "" if error else ""
    message = error.message if error else None
    return render(
        "connections/credential_form.html",
        status=status,
        kind=kind,
        credential=credential,
        name=request.form.get("name", credential.name if credential else ""),
        fields=form_fields(kind, values, field, message),
        error=message if field != "name" and not field.startswith("fields.") else None,
        name_error=message if field == "name" else None,
    )


@bp.get("/connections/credentials/new")
@login_required
def credential_new() -> Response | BaseResponse:
    """The form of the chosen kind (or the choice of kinds)."""
    kind = request.args.get("kind", "")
    if kind not in kinds():
        return render("connections/credential_kinds.html", kinds=list(kinds()))
    return _form(kind)


@bp.post("/connections/credentials")
@login_required
def credential_create() -> Response | BaseResponse:
    kind = request.form.get("kind", "")
    if kind not in kinds():
        return render(
            "connections/credential_kinds.html",
            status=422,
            kinds=list(kinds()),
            error="Choose a kind of credential.",
        )
    try:
        credential = manage.create(
            db.session(),
            container().secrets,
            kinds(),
            current_user.id,
            kind=kind,
            name=request.form.get("name"),
            fields=_posted_fields(kind),
        )
    except (InvalidInputError, ConflictError) as exc:
        db.session.rollback()
        return _form(kind, error=exc, status=exc.status)
    flash(f"Credential {credential.name!r} saved.", "success")
    return redirect(url_for("web.connection_list") + f"#credential-{credential.id}")


@bp.get("/connections/credentials/<int:credential_id>")
@login_required
def credential_edit(credential_id: int) -> Response | BaseResponse:
    credential = manage.get_credential(db.session(), credential_id, current_user.id)
    if credential.kind not in kinds():
        flash(f"The kind {credential.kind!r} is not installed: it cannot be edited.", "error")
        return redirect(url_for("web.connection_list"))
    return _form(credential.kind, credential)


@bp.post("/connections/credentials/<int:credential_id>")
@login_required
def credential_update(credential_id: int) -> Response | BaseResponse:
    credential = manage.get_credential(db.session(), credential_id, current_user.id)
    try:
        manage.update(
            db.session(),
            container().secrets,
            kinds(),
            credential,
            manage.Changes(name=request.form.get("name"), fields=_posted_fields(credential.kind)),
        )
    except (InvalidInputError, ConflictError) as exc:
        db.session.rollback()
        credential = manage.get_credential(db.session(), credential_id, current_user.id)
        return _form(credential.kind, credential, error=exc, status=exc.status)
    flash(f"Credential {credential.name!r} saved.", "success")
    return redirect(url_for("web.connection_list") + f"#credential-{credential.id}")


@bp.post("/connections/credentials/<int:credential_id>/test")
@login_required
def credential_test(credential_id: int) -> Response | BaseResponse:
    credential = manage.get_credential(db.session(), credential_id, current_user.id)
    stepline = container()
    result = manage.test_connection(
        db.session(), stepline.secrets, kinds(), stepline.settings, credential
    )
    verdict = "works" if result.ok else "failed"
    category = "success" if result.ok else "error"
    flash(f"{credential.name}: the test {verdict}. {result.message}", category)
    return redirect(url_for("web.connection_list") + f"#credential-{credential.id}")


@bp.post("/connections/credentials/<int:credential_id>/delete")
@login_required
def credential_delete(credential_id: int) -> Response | BaseResponse:
    credential = manage.get_credential(db.session(), credential_id, current_user.id)
    if request.form.get("confirm") != "yes":
        workflows = using(db.session(), credential)
        if workflows:
            return render(
                "connections/credential_delete.html",
                status=409,
                credential=credential,
                workflows=workflows,
            )
    manage.delete(db.session(), credential, confirmed=True)
    flash(f"Credential {credential.name!r} deleted.", "success")
    return redirect(url_for("web.connection_list"))
