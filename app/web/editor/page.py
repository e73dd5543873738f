"""The workflow editor page and its regions: toolbar, flow of cards, side panel; the trigger and
settings panels; Save, Discard, Run now.

Every region is a fragment with a stable id; a change answers the region it changed, and other
regions refresh themselves on the events it sends (support.CHANGED, FLOW_STALE)."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, flash, redirect, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.engine.program import walk
from app.extensions import container, db
from app.models import Workflow
from app.services.errors import InvalidInputError, NotFoundError, PreconditionFailedError
from app.services.webhooks import receiver
from app.services.workflows import draft_edits, drafts, versions
from app.services.workflows.draft_tree import Slot
from app.web.blueprint import bp
from app.web.editor import failure_section, forms, panels
from app.web.editor.summaries import by_category
from app.web.editor.support import (
    CHANGED,
    FLOW_STALE,
    SAVED,
    editor_for,
    executions_url,
    json_object,
    owned_workflow,
    pretty,
    secrets,
    with_events,
)
from app.web.editor.view import Editor, webhook_of
from app.web.rendering import htmx_response, is_fragment_request, redirect_htmx, render

PAGE = "workflows/editor.html"


def page(
    fragment: str, editor_: Editor, panel: panels.Panel, status: int = 200, **extra: Any
) -> Response:
    """The editor page, or only `fragment` for htmx; every template gets the same context."""
    context: dict[str, Any] = {
        "editor": editor_,
        "workflow": editor_.workflow,
        "panel": panel,
        "pretty": pretty,
        "executions_url": executions_url(editor_.workflow.id),
        "run_payload": pretty(_saved_sample(editor_.workflow)),
        "run_error": "",
        "toolbar_status": "",
        "webhook": webhook_of(editor_.workflow, str(editor_.draft.trigger.get("type") or "")),
        "by_category": by_category,
        "webhook_status": "",
        "active_error": "",
        "stale_save": "",
        "flow_warnings": [],
        "flow_error": "",
    }
    context.update(extra)
    return render(PAGE, fragment, status=status, **context)


def _saved_sample(workflow: Workflow) -> dict[str, Any]:
    """Run now runs the saved version: its form starts from the saved trigger's sample data."""
    sample = workflow.trigger.sample_data if workflow.trigger else None
    return sample if isinstance(sample, dict) else {}


def chosen_panel(editor_: Editor) -> panels.Panel:
    """The panel the URL asks for: ?step=<key>, ?panel=trigger|settings, ?add=<position>."""
    args = request.args
    if args.get("step") and args.get("branch"):
        try:
            return panels.branch_panel(db.session(), editor_, args["step"], args["branch"])
        except (NotFoundError, KeyError):
            return panels.intro(editor_)
    if args.get("step"):
        try:
            return panels.step_panel(
                db.session(),
                editor_,
                args["step"],
                json_mode=args.get("view") == "json",
                run_if_open=args.get("run_if") == "1",
            )
        except NotFoundError:
            return panels.intro(editor_)
    if args.get("panel") == "trigger":
        return panels.trigger_panel(
            db.session(),
            editor_,
            type_=args.get("type") or None,
            json_mode=args.get("view") == "json",
        )
    if args.get("panel") == "settings":
        return panels.settings_panel(editor_)
    if args.get("add", "").isdigit():
        slot = Slot(args.get("parent") or None, args.get("branch") or None)
        return panels.palette(editor_, int(args["add"]), slot)
    return panels.intro(editor_)


def _selected() -> str | None:
    return request.args.get("step") or request.args.get("panel") or None


@bp.get("/workflows/<int:workflow_id>")
@login_required
def workflow_show(workflow_id: int) -> Response:
    """The editor; for htmx, the side panel the query asks for."""
    editor_ = editor_for(owned_workflow(workflow_id), _selected())
    return page("workflows/_panel.html", editor_, chosen_panel(editor_))


@bp.get("/workflows/<int:workflow_id>/flow")
@login_required
def workflow_flow(workflow_id: int) -> Response:
    """The trigger and step cards."""
    editor_ = editor_for(owned_workflow(workflow_id), _selected())
    return page("workflows/_flow.html", editor_, chosen_panel(editor_))


@bp.get("/workflows/<int:workflow_id>/toolbar")
@login_required
def workflow_toolbar(workflow_id: int) -> Response:
    """Name, version, saved or not, and the page's commands."""
    editor_ = editor_for(owned_workflow(workflow_id))
    return page("workflows/_toolbar.html", editor_, panels.intro(editor_))


def _applied(workflow: Workflow, panel_args: dict[str, Any], message: str) -> BaseResponse:
    """After a panel change: the fresh panel for htmx, else back to the page (PRG)."""
    if not is_fragment_request():
        flash(message, "success")
        return redirect(url_for("web.workflow_show", workflow_id=workflow.id, **panel_args), 303)
    editor_ = editor_for(workflow, panel_args.get("panel"))
    panel = (
        panels.trigger_panel(db.session(), editor_, status=message)
        if panel_args.get("panel") == "trigger"
        else panels.settings_panel(editor_, status=message)
    )
    response = page("workflows/_panel.html", editor_, panel)
    return with_events(response, CHANGED, FLOW_STALE, announce=message)


@bp.post("/workflows/<int:workflow_id>/settings")
@login_required
def workflow_update(workflow_id: int) -> Response | BaseResponse:
    """Rename the workflow; set its description and run key template."""
    workflow = owned_workflow(workflow_id)
    form = request.form
    try:
        draft_edits.update_settings(
            db.session(),
            workflow,
            form.get("name", ""),
            form.get("description", ""),
            form.get("run_key_template", ""),
        )
    except draft_edits.ProblemsFoundError as exc:
        db.session.rollback()
        editor_ = editor_for(workflow, "settings")
        panel = panels.settings_panel(editor_, posted=form)
        panels.place_errors(panel, exc.problems, "", panels.SETTINGS_INPUTS)
        return page("workflows/_panel.html", editor_, panel, status=422)
    return _applied(workflow, {"panel": "settings"}, "Settings applied. Save to keep them.")


@bp.post("/workflows/<int:workflow_id>/trigger")
@login_required
def trigger_update(workflow_id: int) -> Response | BaseResponse:
    """Choose the trigger kind, set its config and its sample data."""
    workflow = owned_workflow(workflow_id)
    form = request.form
    type_ = form.get("type", "")
    fields = (
        forms.form_fields(container().handlers.triggers.get(type_).Config)
        if type_ in container().handlers.triggers
        else []
    )
    parsed = forms.parse(fields, form)
    sample, sample_error = json_object(form.get("sample_data", ""))
    problems = [InvalidInputError(m, f"trigger.{n}") for n, m in parsed.errors.items()]
    if sample_error:
        problems.append(InvalidInputError(sample_error, "trigger.sample_data"))
    if not problems:
        try:
            triggers = container().handlers.triggers
            draft_edits.update_trigger(
                db.session(), workflow, type_, parsed.config, sample, secrets(), triggers
            )
            if type_ == "webhook":
                receiver.reserve_token(db.session(), workflow)  # the URL shows at once
        except InvalidInputError as exc:
            db.session.rollback()
            problems = getattr(exc, "problems", [exc])
    if problems:
        editor_ = editor_for(workflow, "trigger")
        panel = panels.trigger_panel(db.session(), editor_, type_=type_ or None, posted=form)
        panels.place_errors(panel, problems, "trigger.", panels.TRIGGER_INPUTS)
        return page("workflows/_panel.html", editor_, panel, status=422)
    return _applied(workflow, {"panel": "trigger"}, "Trigger applied. Save to keep it.")


def problem_panel(editor_: Editor, exc: InvalidInputError) -> panels.Panel:
    """The panel that shows where a refused save went wrong, with the message in place."""
    field = exc.field or ""
    problems = getattr(exc, "problems", [exc])
    parts = field.split(".")
    located = _step_at(editor_, field)
    if located is not None:
        key, where = located
        rest = field.removeprefix(where + ".")
        branch = re.match(r"branches\.(\d+)\.(name|condition)", rest)
        if branch:
            paths = editor_.draft.step(key)
            item = paths["branches"][int(branch.group(1))]
            panel = panels.branch_panel(db.session(), editor_, key, str(item["key"]))
            prefix = f"{where}.branches.{branch.group(1)}."
            return panels.place_errors(panel, problems, prefix, panels.BRANCH_INPUTS)
        panel = panels.step_panel(db.session(), editor_, key)
        return panels.place_errors(panel, problems, f"{where}.", panels.STEP_INPUTS)
    if parts[0] == "trigger":
        panel = panels.trigger_panel(db.session(), editor_)
        return panels.place_errors(panel, problems, "trigger.", panels.TRIGGER_INPUTS)
    if field.startswith(failure_section.FIELD_PREFIX):  # the "When a run fails" section
        panel = panels.settings_panel(editor_)
        if panel.failure is not None:
            failure_section.place_errors(panel.failure, problems)
        return panel
    if parts[0] in panels.SETTINGS_INPUTS:
        panel = panels.settings_panel(editor_)
        return panels.place_errors(panel, problems, "", panels.SETTINGS_INPUTS)
    panel = panels.intro(editor_)
    panel.form_error = f"{field}: {exc.message}" if field else exc.message
    return panel


def _step_at(editor_: Editor, field: str) -> tuple[str, str] | None:
    """The step a refused field path is about, the deepest one (`steps.2.branches.0.steps.1.
    config.url` → that branch's first step), and its own path; None when it names no step."""
    found = None
    for place in walk(editor_.draft.steps):
        where = ".".join(str(part) for part in place.path)
        if field == where or field.startswith(where + "."):
            found = (str(place.step["key"]), where)
    return found


def _stale_save(workflow: Workflow, message: str) -> Response | BaseResponse:
    """The refused save: the toolbar says who saved first and offers to load their version
    (dropping these changes) or to save over it (it stays in History). 422, as htmx swaps it."""
    if not is_fragment_request():
        flash(f"{message} Your changes are not saved yet.", "error")
        return redirect(url_for("web.workflow_show", workflow_id=workflow.id), 303)
    editor_ = editor_for(workflow)
    response = page(
        "workflows/_toolbar.html",
        editor_,
        panels.intro(editor_),
        status=422,
        stale_save=message,
        save_note=request.form.get("note", ""),
    )
    return with_events(response, announce=message)


@bp.post("/workflows/<int:workflow_id>/save")
@login_required
def workflow_save(workflow_id: int) -> Response | BaseResponse:
    """Save the draft as the next version; a refusal opens the panel of the faulty field."""
    workflow = owned_workflow(workflow_id)
    before = workflow.version
    try:
        versions.save_draft(
            db.session(),
            workflow,
            secrets(),
            container().handlers,
            note=request.form.get("note"),
            expected_version=request.form.get("base_version", type=int),
        )
    except PreconditionFailedError as exc:  # someone saved first: say who, offer the ways out
        db.session.rollback()
        return _stale_save(workflow, exc.message)
    except InvalidInputError as exc:
        db.session.rollback()
        editor_ = editor_for(workflow)
        panel = problem_panel(editor_, exc)
        panel.form_error = panel.form_error or "Fix this to save the workflow."
        response = page("workflows/_panel.html", editor_, panel, status=422)
        return htmx_response(response, retarget="#panel", reswap="outerHTML")
    saved = workflow.version != before
    message = f"Saved as version {workflow.version}." if saved else "Nothing to save."
    if not is_fragment_request():
        flash(message, "success")
        return redirect(url_for("web.workflow_show", workflow_id=workflow.id), 303)
    editor_ = editor_for(workflow)
    response = page(
        "workflows/_toolbar.html", editor_, panels.intro(editor_), toolbar_status=message
    )
    return with_events(response, FLOW_STALE, SAVED, announce=message)


@bp.post("/workflows/<int:workflow_id>/discard")
@login_required
def workflow_discard(workflow_id: int) -> BaseResponse:
    """Drop the unsaved changes and show the saved version again."""
    workflow = owned_workflow(workflow_id)
    drafts.discard(db.session(), workflow)
    flash("Unsaved changes discarded.", "info")
    target = url_for("web.workflow_show", workflow_id=workflow.id)
    if is_fragment_request():
        return redirect_htmx(target)
    return redirect(target, 303)
