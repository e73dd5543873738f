"""Workflow pages around the editor: the list (search, pages, enable toggle), new, import,
export, delete, the History of versions with restore, and one version read-only."""

from __future__ import annotations

import re

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.models import Workflow
from app.services.errors import InvalidInputError
from app.services.workflows import drafts, listing, versions
from app.services.workflows.crud import create_workflow, delete_workflow, set_enabled
from app.services.workflows.specs import WorkflowSpec
from app.web.blueprint import bp
from app.web.editor import panels
from app.web.editor.cards import icon_for
from app.web.editor.page import page
from app.web.editor.summaries import summary
from app.web.editor.support import editor_for, owned_workflow, pretty, secrets
from app.web.rendering import is_fragment_request, redirect_htmx, render

MAX_IMPORT_BYTES = 1024 * 1024


def _cursor(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.get("/workflows")
@login_required
def workflow_list() -> Response:
    """The user's workflows: search by name, newest first, a page at a time."""
    found = listing.list_workflows(
        db.session(),
        current_user.id,
        query=request.args.get("q", ""),
        after=_cursor("after"),
        before=_cursor("before"),
    )
    return render("workflows/list.html", "workflows/_table.html", listing=found, icon_for=icon_for)


@bp.post("/workflows/<int:workflow_id>/enabled")
@login_required
def workflow_enable(workflow_id: int) -> Response | BaseResponse:
    """Turn a workflow on or off in place; answers its row."""
    workflow = owned_workflow(workflow_id)
    enabled = request.form.get("enabled") == "1"
    error, status = "", 200
    try:
        set_enabled(db.session(), workflow, enabled, container().handlers)
    except InvalidInputError as exc:
        db.session.rollback()
        error, status = exc.message, 422
    if not is_fragment_request():
        if error:
            flash(error, "error")
        return redirect(url_for("web.workflow_list"))
    row = listing.workflow_row(db.session(), workflow)
    return render(
        "workflows/list.html",
        "workflows/_row.html",
        status=status,
        row=row,
        error=error,
        icon_for=icon_for,
    )


@bp.get("/workflows/new")
@login_required
def workflow_new() -> Response:
    """Start a workflow from scratch, or import one."""
    return render("workflows/new.html", values={}, errors={})


@bp.post("/workflows")
@login_required
def workflow_create() -> Response | BaseResponse:
    """Create an empty workflow (manual trigger) and open the editor on its first step."""
    values = {
        "name": request.form.get("name", ""),
        "description": request.form.get("description", ""),
    }
    name = values["name"].strip()
    if not 1 <= len(name) <= 200 or len(values["description"]) > 5000:
        errors = {"name": "Give the workflow a name (at most 200 characters)."}
        if len(values["description"]) > 5000:
            errors = {"description": "Use at most 5000 characters."}
        return render("workflows/new.html", status=422, values=values, errors=errors)
    spec = WorkflowSpec(name=name, description=values["description"])
    workflow = create_workflow(db.session(), current_user.id, spec, secrets(), container().handlers)
    return redirect(url_for("web.workflow_show", workflow_id=workflow.id, add=0), 303)


@bp.post("/workflows/import")
@login_required
def workflow_import() -> Response | BaseResponse:
    """Create a workflow from an exported JSON file (or pasted JSON)."""
    upload = request.files.get("file")
    text = request.form.get("json", "")
    if upload is not None and upload.filename:
        raw = upload.read(MAX_IMPORT_BYTES + 1)
        text = raw.decode("utf-8", errors="replace") if len(raw) <= MAX_IMPORT_BYTES else ""
    if not text.strip():
        errors = {"import": "Choose an exported workflow file, or paste its JSON (up to 1 MB)."}
        return render("workflows/new.html", status=422, values={"json": text}, errors=errors)
    try:
        workflow, complete = versions.import_json(
            db.session(), current_user.id, text, secrets(), container().handlers
        )
    except InvalidInputError as exc:
        db.session.rollback()
        where = f"{exc.field}: " if exc.field and exc.field != "file" else ""
        errors = {"import": f"{where}{exc.message}", "import_field": exc.field or ""}
        return render("workflows/new.html", status=422, values={"json": text}, errors=errors)
    if complete:
        flash(f"Imported “{workflow.name}”. It is disabled until you turn it on.", "success")
    else:
        message = (
            f"Imported “{workflow.name}” as unsaved changes: some steps need values the file "
            "cannot hold (secrets are never exported). Fix the flagged steps, then Save."
        )
        flash(message, "info")
    return redirect(url_for("web.workflow_show", workflow_id=workflow.id), 303)


@bp.get("/workflows/<int:workflow_id>/export")
@login_required
def workflow_export(workflow_id: int) -> Response:
    """The saved definition as a JSON file (no secrets inside)."""
    workflow = owned_workflow(workflow_id)
    slug = re.sub(r"[^a-z0-9]+", "-", workflow.name.lower()).strip("-") or "workflow"
    filename = f"{slug[:60]}-v{workflow.version}.json"
    return Response(
        versions.export_json(workflow, container().handlers),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/workflows/<int:workflow_id>/delete")
@login_required
def workflow_delete(workflow_id: int) -> BaseResponse:
    """Delete a workflow, its versions and its executions (asks for a confirmation box)."""
    workflow = owned_workflow(workflow_id)
    if request.form.get("confirm") != "yes":
        message = "Tick the box to confirm the deletion."
        if not is_fragment_request():
            flash(message, "error")
            return redirect(url_for("web.workflow_show", workflow_id=workflow.id, panel="settings"))
        editor_ = editor_for(workflow, "settings")
        panel = panels.settings_panel(editor_)
        panel.errors["confirm"], panel.paths["confirm"] = message, "confirm"
        return page("workflows/_panel.html", editor_, panel, status=422)
    name = workflow.name
    delete_workflow(db.session(), workflow, container().handlers)
    flash(f"Deleted “{name}”.", "success")
    if is_fragment_request():
        return redirect_htmx(url_for("web.workflow_list"))
    return redirect(url_for("web.workflow_list"), 303)


def _history(workflow: Workflow, error: str = "", status: int = 200) -> Response:
    entries = versions.history(db.session(), workflow, container().handlers)
    return render(
        "workflows/history.html",
        status=status,
        workflow=workflow,
        entries=entries,
        error=error,
        pretty=pretty,
    )


@bp.get("/workflows/<int:workflow_id>/history")
@login_required
def workflow_history(workflow_id: int) -> Response:
    """Every version of a workflow with what it changed; earlier ones can be restored."""
    return _history(owned_workflow(workflow_id))


@bp.get("/workflows/<int:workflow_id>/versions/<int:version>")
@login_required
def version_show(workflow_id: int, version: int) -> Response:
    """One version as it was saved, read-only, `?step=<key>` open and highlighted: where a run's
    page sends a step of a version that is no longer the current one."""
    workflow = owned_workflow(workflow_id)
    view = versions.version_view(db.session(), workflow, version, container().handlers)
    return render(
        "workflows/version.html",
        workflow=workflow,
        view=view,
        selected=request.args.get("step", ""),
        summary=summary,
    )


@bp.get("/workflows/<int:workflow_id>/versions/<int:version>/restore")
@login_required
def version_restore_confirm(workflow_id: int, version: int) -> Response:
    """Restore asks first: what restoring this version would change, then Restore or Cancel
    (inside History for htmx, a page of its own otherwise)."""
    workflow = owned_workflow(workflow_id)
    row = versions.get_version(db.session(), workflow, version)
    return render(
        "workflows/restore.html",
        "workflows/_restore.html",
        workflow=workflow,
        version=row,
        changes=versions.restore_preview(workflow, row, container().handlers),
        dirty=drafts.has_unsaved(drafts.load(db.session(), workflow), workflow),
    )


@bp.post("/workflows/<int:workflow_id>/versions/<int:version>/restore")
@login_required
def version_restore(workflow_id: int, version: int) -> Response | BaseResponse:
    """Save an earlier version as the newest one (unsaved edits are dropped), once confirmed;
    unconfirmed, the confirmation page."""
    workflow = owned_workflow(workflow_id)
    row = versions.get_version(db.session(), workflow, version)
    if request.form.get("confirm") != "yes":
        target = url_for("web.version_restore_confirm", workflow_id=workflow.id, version=version)
        return redirect(target, 303)
    try:
        versions.restore(db.session(), workflow, row, secrets(), container().handlers)
    except InvalidInputError as exc:
        db.session.rollback()
        return _history(workflow, f"Version {version} cannot be restored: {exc.message}", 422)
    flash(f"Restored version {version} as version {workflow.version}.", "success")
    return redirect(url_for("web.workflow_show", workflow_id=workflow.id), 303)
