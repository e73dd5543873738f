"""Test the whole workflow from the editor: start a test run of the draft
(services.workflows.draft_runs), show its progress step by step on each card, and make a step's
output its sample.

The progress region polls itself every second while the run is live, like the execution page;
the answer that finds the run over carries HTTP 286, which stops htmx polling. Each answer also
carries the cards' result slots (`#run-result-<key>`, swapped out of band). Without JavaScript
the form posts and the browser lands on the execution's own page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Response, redirect, request
from flask_htmx.constants import HTMX_STOP_POLLING
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import container, db
from app.models import Workflow
from app.services.errors import InvalidInputError, PayloadTooLargeError
from app.services.workflows import draft_runs
from app.web.blueprint import bp
from app.web.editor import panels
from app.web.editor.page import page
from app.web.editor.support import (
    CHANGED,
    FLOW_STALE,
    editor_for,
    execution_url,
    owned_workflow,
    with_events,
)
from app.web.rendering import is_fragment_request, render

STOP_POLLING = HTMX_STOP_POLLING  # 286: htmx stops an `every 1s` trigger on this status
FRAGMENT = "workflows/_test_run.html"


@dataclass(frozen=True)
class CardResult:
    """What a card's result slot shows of a test run: a step inside a loop runs once per item
    (one row per iteration), summed up here by its key."""

    key: str
    name: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    milliseconds: int | None
    runs: int = 1
    counts: str = ""  # "3 runs: 2 completed, 1 failed" when it ran more than once


STATUS_ORDER = ("running", "waiting", "failed", "pending", "cancelled", "completed", "skipped")


def card_results(run: draft_runs.Progress) -> list[CardResult]:
    """One result per step key, in the run's order: the most telling status of its runs,
    its last output and its first error."""
    by_key: dict[str, list[draft_runs.StepResult]] = {}
    for step in run.steps:
        by_key.setdefault(step.key, []).append(step)
    found = []
    for key, rows in by_key.items():
        statuses = [row.status for row in rows]
        status = min(statuses, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 0)
        outputs = [row.output for row in rows if row.output is not None]
        errors = [row.error for row in rows if row.error]
        tally = Counter(statuses)
        counts = ""
        if len(rows) > 1:
            parts = [f"{n} {name}" for name, n in sorted(tally.items(), key=lambda i: -i[1])]
            counts = f"{len(rows)} runs: {', '.join(parts)}"
        took = [row.milliseconds for row in rows if row.milliseconds is not None]
        found.append(
            CardResult(
                key,
                rows[0].name,
                status,
                outputs[-1] if outputs else None,
                errors[0] if errors else None,
                sum(took) if took else None,
                len(rows),
                counts,
            )
        )
    return found


def _region(
    workflow: Workflow,
    run: draft_runs.Progress | None,
    *,
    error: str = "",
    status: int = 200,
    note: str = "",
) -> Response:
    if run is not None and not run.is_live and status == 200:
        status = STOP_POLLING
    region: dict[str, Any] = {
        "test_run": run,
        "test_run_cards": card_results(run) if run is not None else [],
        "test_run_error": error,
        "test_run_note": note,
    }
    if is_fragment_request():  # polled every second: the region needs the workflow alone
        return render(FRAGMENT, status=status, workflow=workflow, **region)
    editor_ = editor_for(workflow)
    return page(FRAGMENT, editor_, panels.intro(editor_), status=status, **region)


@bp.post("/workflows/<int:workflow_id>/test-run")
@login_required
def test_run_start(workflow_id: int) -> BaseResponse:
    """Run the draft now with the trigger's sample data, as a test run; the "Dry run" button
    (form `dry_run=1`) makes it a dry run, where steps that send only record their request."""
    workflow = owned_workflow(workflow_id)
    dry_run = request.form.get("dry_run") == "1"
    try:
        execution = draft_runs.start(
            db.session(),
            workflow,
            send=container().doorbell.send,
            settings=container().settings,
            secrets=container().secrets,
            actions=container().handlers.actions,
            dry_run=dry_run,
        )
    except (InvalidInputError, PayloadTooLargeError) as exc:
        db.session.rollback()
        message = exc.message
        return _region(workflow, None, error=message, status=422)
    if not is_fragment_request():
        return redirect(execution_url(execution.id), 303)
    run = draft_runs.progress(db.session(), workflow, execution.id)
    response = _region(workflow, run, status=201)
    if dry_run:
        return with_events(response, announce="Dry run with the sample data: nothing is sent.")
    return with_events(response, announce="Testing the workflow with the sample data.")


@bp.get("/workflows/<int:workflow_id>/test-run/<int:execution_id>")
@login_required
def test_run_show(workflow_id: int, execution_id: int) -> BaseResponse:
    """The test run's progress (polled while it is live; 286 once it is over)."""
    workflow = owned_workflow(workflow_id)
    if not is_fragment_request():
        return redirect(execution_url(execution_id), 303)
    run = draft_runs.progress(db.session(), workflow, execution_id)
    response = _region(workflow, run)
    if not run.is_live:
        with_events(response, announce=_finished(run))
    return response


@bp.post("/workflows/<int:workflow_id>/test-run/<int:execution_id>/sample")
@login_required
def test_run_sample(workflow_id: int, execution_id: int) -> BaseResponse:
    """Make the run's output of one step (form `key`), or of every completed step, the
    steps' samples in the draft."""
    workflow = owned_workflow(workflow_id)
    key = request.form.get("key", "")
    used = draft_runs.use_outputs_as_samples(
        db.session(), workflow, execution_id, [key] if key else None
    )
    note = f"Used as sample: {', '.join(used)}." if used else "Nothing to use."
    if not is_fragment_request():
        return redirect(execution_url(execution_id), 303)
    run = draft_runs.progress(db.session(), workflow, execution_id)
    response = _region(workflow, run, note=note)
    return with_events(response, CHANGED, FLOW_STALE, announce=note)


def _finished(run: draft_runs.Progress) -> str:
    kind = "Dry run" if run.dry_run else "Test run"
    if run.status == "completed":
        return f"{kind} completed: {run.done} of {len(run.steps)} steps done."
    failed = next((s for s in run.steps if s.status == "failed"), None)
    if failed is not None:
        return f"{kind} failed at step {failed.number}, {failed.name}."
    return f"{kind} {run.status}."
