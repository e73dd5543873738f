"""Card changes in the editor: move (up, down, out of a loop or branch, to any list),
duplicate, delete, enable a step; add, change and remove a paths step's branches.

Each answers the flow (or the one card, or the branch panel); a move that leaves a reference
unable to see its step answers the flow with the warning on top. Without JavaScript each form
posts, and the answer redirects back to the editor page."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.engine.program import kind_of
from app.extensions import db
from app.models import Workflow
from app.services.errors import InvalidInputError
from app.services.workflows import draft_structure, draft_tree, drafts
from app.services.workflows.draft_edits import ProblemsFoundError
from app.services.workflows.draft_tree import Slot
from app.web.blueprint import bp
from app.web.editor import panels, run_if
from app.web.editor.page import page
from app.web.editor.support import (
    CHANGED,
    FLOW_STALE,
    editor_for,
    form_int,
    owned_workflow,
    with_events,
)
from app.web.rendering import htmx_response, is_fragment_request


def back(workflow: Workflow, message: str, category: str = "success", **args: Any) -> BaseResponse:
    flash(message, category)
    return redirect(url_for("web.workflow_show", workflow_id=workflow.id, **args), 303)


def flow(
    workflow: Workflow,
    message: str,
    status: int = 200,
    details: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> BaseResponse:
    """The flow of cards (with `warnings` on top), and the events that refresh the rest."""
    editor_ = editor_for(workflow, request.form.get("selected") or None)
    response = page(
        "workflows/_flow.html",
        editor_,
        panels.intro(editor_),
        status=status,
        flow_warnings=warnings or [],
    )
    if warnings:
        message = f"{message} Warning: {' '.join(warnings)}"
    return with_events(response, CHANGED, announce=message, details=details)


def refused(workflow: Workflow, exc: InvalidInputError) -> BaseResponse:
    """A refused card change: the flow again with the reason on top (422, which htmx swaps)."""
    db.session.rollback()
    if not is_fragment_request():
        return back(workflow, exc.message, "error")
    editor_ = editor_for(workflow)
    response = page(
        "workflows/_flow.html", editor_, panels.intro(editor_), status=422, flow_error=exc.message
    )
    return with_events(response, announce=exc.message)


def posted_slot(value: str | None) -> Slot | None:
    """A list named in a form: "" for the top level, "<container>" for a loop's body,
    "<container>/<branch>" for a branch; None when the form names none."""
    if value is None:
        return None
    parent, _, branch = value.partition("/")
    return Slot(parent or None, branch or None)


def _target(draft: drafts.Draft, key: str) -> tuple[int, Slot | None]:
    """Where the move form asks the step to go: (index, list; None: its own list)."""
    found = draft.locate(key)
    direction = request.form.get("direction")
    if direction == "up":
        return found.index - 1, None
    if direction == "down":
        return found.index + 1, None
    if direction == "out":
        if found.slot.parent is None:
            raise InvalidInputError("This step is not inside a loop or a branch.", "direction")
        container = draft.locate(found.slot.parent)
        after = 0 if kind_of(container.step) == "paths" else 1  # a paths step ends its list
        return container.index + after, container.slot
    slot = posted_slot(request.form.get("place"))
    if slot is not None and "to" not in request.form:
        size = len(draft_tree.list_at(draft.steps, slot))
        ends = size and kind_of(draft_tree.list_at(draft.steps, slot)[-1]) == "paths"
        return (size - 1 if ends else size), slot  # the end of that list
    return form_int("to"), slot


@bp.post("/workflows/<int:workflow_id>/steps/<key>/move")
@login_required
def step_move(workflow_id: int, key: str) -> BaseResponse:
    """Move a step up, down, out of its loop or branch, to a list (`place`) or a position
    (`to`: drag and drop); answers the flow, with what the move broke."""
    workflow = owned_workflow(workflow_id)
    draft = editor_for(workflow).draft
    name = draft.step(key).get("name") or key
    try:
        to, slot = _target(draft, key)
        draft, moved = draft_structure.move_step(db.session(), workflow, key, to, slot)
        where = draft_tree.slot_words(draft.steps, moved.slot)
    except InvalidInputError as exc:
        return refused(workflow, exc)
    size = len(draft_tree.list_at(draft.steps, moved.slot))
    message = (
        f"Moved “{name}” to position {moved.index + 1} of {size}{' ' + where if where else ''}."
    )
    if not is_fragment_request():
        for warning in moved.warnings:
            flash(warning, "warning")
        return back(workflow, message)
    return flow(workflow, message, warnings=moved.warnings)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/duplicate")
@login_required
def step_duplicate(workflow_id: int, key: str) -> BaseResponse:
    """Insert a copy of the step (and of the steps inside it) after it; answers the flow."""
    workflow = owned_workflow(workflow_id)
    try:
        draft, copied = draft_structure.duplicate_step(db.session(), workflow, key)
    except InvalidInputError as exc:
        return refused(workflow, exc)
    name = draft.step(copied)["name"]
    message = f"Duplicated as “{name}” (step {editor_for(workflow).card(copied).number})."
    if not is_fragment_request():
        return back(workflow, message, step=copied)
    return flow(workflow, message, status=201)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/delete")
@login_required
def step_delete(workflow_id: int, key: str) -> BaseResponse:
    """Remove the step (and the steps inside it) from the draft; answers the flow."""
    workflow = owned_workflow(workflow_id)
    step = editor_for(workflow).draft.step(key)
    name = step.get("name") or key
    removed = " ".join(str(s["key"]) for s in draft_tree.each([step]))
    inner = draft_tree.total([step]) - 1
    draft_structure.delete_step(db.session(), workflow, key)
    also = f" and the {inner} step{'s' if inner != 1 else ''} inside it" if inner else ""
    message = f"Deleted step “{name}”{also}."
    if not is_fragment_request():
        return back(workflow, message)
    return flow(workflow, message, details={"stepline:step-removed": removed})


@bp.post("/workflows/<int:workflow_id>/steps/<key>/enabled")
@login_required
def step_enable(workflow_id: int, key: str) -> BaseResponse:
    """Turn a step on or off; answers its card."""
    workflow = owned_workflow(workflow_id)
    enabled = request.form.get("enabled") == "1"
    draft_structure.set_step_enabled(db.session(), workflow, key, enabled)
    editor_ = editor_for(workflow, request.form.get("selected") or None)
    card = editor_.card(key)
    message = f"Step “{card.name}” {'enabled' if enabled else 'disabled'}."
    if not is_fragment_request():
        return back(workflow, message)
    response = page("workflows/_step_card.html", editor_, panels.intro(editor_), card=card)
    return with_events(response, CHANGED, announce=message)


# -- branches ----------------------------------------------------------------------------------


@bp.post("/workflows/<int:workflow_id>/steps/<key>/branches")
@login_required
def branch_create(workflow_id: int, key: str) -> BaseResponse:
    """Add a branch to a paths step; answers the flow."""
    workflow = owned_workflow(workflow_id)
    try:
        draft, branch = draft_structure.add_branch(db.session(), workflow, key)
    except InvalidInputError as exc:
        return refused(workflow, exc)
    paths = draft.step(key)
    name = paths["branches"][draft_structure.branch_index(paths, branch)]["name"]
    message = f"Added the branch “{name}” to “{paths.get('name') or key}”."
    if not is_fragment_request():
        return back(workflow, message, step=key, branch=branch)
    return flow(workflow, message, status=201)


@bp.get("/workflows/<int:workflow_id>/steps/<key>/branches/<branch>")
@login_required
def branch_show(workflow_id: int, key: str, branch: str) -> Response | BaseResponse:
    """A branch's panel: its name and its condition."""
    workflow = owned_workflow(workflow_id)
    if not is_fragment_request():
        return redirect(
            url_for("web.workflow_show", workflow_id=workflow.id, step=key, branch=branch)
        )
    editor_ = editor_for(workflow, key)
    panel = panels.branch_panel(db.session(), editor_, key, branch)
    return page("workflows/_panel.html", editor_, panel)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/branches/<branch>")
@login_required
def branch_update(workflow_id: int, key: str, branch: str) -> Response | BaseResponse:
    """Rename a branch and set its condition; answers its panel."""
    workflow = owned_workflow(workflow_id)
    condition, unread = run_if.posted(request.form, prefix=run_if.BRANCH_PREFIX)
    try:
        if unread:
            draft = editor_for(workflow).draft
            index = draft_structure.branch_index(draft.step(key), branch)
            where = f"{draft.where(key)}.branches.{index}"
            problems = [InvalidInputError(m, f"{where}.{n}") for n, m in unread.items()]
            raise ProblemsFoundError(problems)
        draft_structure.update_branch(
            db.session(), workflow, key, branch, request.form.get("name", ""), condition
        )
    except InvalidInputError as exc:
        db.session.rollback()
        editor_ = editor_for(workflow, key)
        panel = panels.branch_panel(db.session(), editor_, key, branch, posted=request.form)
        index = draft_structure.branch_index(editor_.draft.step(key), branch)
        prefix = f"{editor_.draft.where(key)}.branches.{index}."
        problems = getattr(exc, "problems", [exc])
        panels.place_errors(panel, problems, prefix, panels.BRANCH_INPUTS)
        return page("workflows/_panel.html", editor_, panel, status=422)
    message = "Branch applied. Save to keep it."
    if not is_fragment_request():
        return back(workflow, message, step=key, branch=branch)
    editor_ = editor_for(workflow, key)
    panel = panels.branch_panel(db.session(), editor_, key, branch, status=message)
    response = page("workflows/_panel.html", editor_, panel)
    return with_events(response, CHANGED, FLOW_STALE, announce=message)


@bp.post("/workflows/<int:workflow_id>/steps/<key>/branches/<branch>/delete")
@login_required
def branch_delete(workflow_id: int, key: str, branch: str) -> BaseResponse:
    """Remove a branch and its steps; answers the flow."""
    workflow = owned_workflow(workflow_id)
    try:
        _, name = draft_structure.delete_branch(db.session(), workflow, key, branch)
    except InvalidInputError as exc:
        return refused(workflow, exc)
    message = f"Deleted the branch “{name}”."
    if not is_fragment_request():
        return back(workflow, message)
    response = flow(workflow, message, details={"stepline:branch-removed": f"{key}/{branch}"})
    return htmx_response(response, retarget="#flow", reswap="outerHTML")
