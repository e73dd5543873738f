"""Fixing what failed: cancel, re-run from the start or from the failed step, edit trigger data
then re-run, and bulk re-run of exactly the failures a filter matches."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.models import Workflow
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.conftest import csrf_token
from tests.dashboard_support import (
    HTMX,
    executions_of,
    force_failed,
    make_workflow,
    start,
    status,
    steps,
    user_id,
    wait_final,
)
from tests.dashboard_support import execution as load


def effect_then_flaky(journal: Path, succeed_on_attempt: int) -> dict[str, Any]:
    """Step 1 leaves a line in a journal (a side effect); step 2 fails until the given attempt."""
    return {
        "name": "Charge then notify",
        "steps": [
            {
                "key": "charge",
                "type": "test_effect",
                "config": {"journal": str(journal), "marker": "charged"},
            },
            {
                "key": "notify",
                "type": "test_flaky",
                "config": {"succeed_on_attempt": succeed_on_attempt},
                "retry": {"attempts": 1},
            },
        ],
    }


def fix_workflow(app: Flask, workflow_id: int, spec: dict[str, Any]) -> None:
    """What the editor does when the user corrects a step and saves."""
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        secrets = container(app).secrets
        crud.update_workflow(
            db.session(), workflow, WorkflowSpec.model_validate(spec), secrets, container().handlers
        )


def post(client: FlaskClient, path: str, data: dict[str, str], htmx: bool = False) -> Any:
    token = csrf_token(client, "/executions")
    headers = {**HTMX, "X-CSRFToken": token} if htmx else {}
    form = data if htmx else {**data, "csrf_token": token}
    return client.post(path, data=form, headers=headers)


def new_id(response: Any) -> int:
    location = response.headers.get("HX-Redirect") or response.headers["Location"]
    match = re.fullmatch(r"/executions/(\d+)", location)
    assert match, location
    return int(match.group(1))


def test_rerun_from_the_failed_step_reuses_earlier_outputs_and_links_the_runs(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    # Given an execution whose second step failed after the first had its effect
    journal = tmp_path / "journal"
    workflow = make_workflow(
        app, user_id(app, "alice@example.com"), effect_then_flaky(journal, succeed_on_attempt=9)
    )
    first = start(app, workflow, {"order": 7})
    assert wait_final(app, [first]) == ["failed"]
    first_charge = steps(app, first)[0]
    # and the user fixed the failing step in the editor
    fix_workflow(app, workflow, effect_then_flaky(journal, succeed_on_attempt=1))

    # When they re-run from the failed step
    response = post(user_client, f"/executions/{first}/rerun", {"mode": "failed"})

    # Then a new execution, linked to the first, completes without running step 1 again
    assert response.status_code == 303
    second = new_id(response)
    assert second != first
    assert wait_final(app, [second]) == ["completed"]
    assert load(app, second).rerun_of_id == first
    charge, notify = steps(app, second)
    assert charge.status == "completed" and charge.attempts == 0
    assert charge.output == first_charge.output
    assert notify.status == "completed" and notify.output == {"attempt": 1}
    assert len(journal.read_text().splitlines()) == 1  # the effect happened once
    # and the first execution is unchanged, and lists its re-run
    assert status(app, first) == "failed"
    page = user_client.get(f"/executions/{first}").get_data(as_text=True)
    assert f'href="/executions/{second}">#{second}</a>' in page
    assert f'href="/executions/{first}">#{first}</a>' in user_client.get(
        f"/executions/{second}"
    ).get_data(as_text=True)


def test_rerun_from_the_start_runs_every_step_again(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    spec = effect_then_flaky(journal, succeed_on_attempt=1)
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    first = start(app, workflow)
    assert wait_final(app, [first]) == ["completed"]

    response = post(user_client, f"/executions/{first}/rerun", {"mode": "start"})

    second = new_id(response)
    assert wait_final(app, [second]) == ["completed"]
    assert [s.attempts for s in steps(app, second)] == [1, 1]
    assert len(journal.read_text().splitlines()) == 2


def test_edit_the_trigger_data_then_rerun(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    # Given a finished execution
    spec = effect_then_flaky(tmp_path / "journal", succeed_on_attempt=1)
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    first = start(app, workflow, {"order": 7})
    assert wait_final(app, [first]) == ["completed"]

    # When the user opens the edit form, it holds the trigger data as JSON
    form = user_client.get(f"/executions/{first}/rerun").get_data(as_text=True)
    assert "&#34;order&#34;: 7" in form

    # When they submit invalid JSON, then JSON that is not an object
    for text, message in (("{oops", "This is not valid JSON"), ("[1, 2]", "must be a JSON object")):
        refused = post(user_client, f"/executions/{first}/rerun", {"trigger_data": text}, htmx=True)
        html = refused.get_data(as_text=True).strip()
        # Then the form comes back with the error, as a 422 htmx swaps in place
        assert refused.status_code == 422
        assert html.startswith('<form id="rerun-form"') and message in html
    assert len(executions_of(app, workflow)) == 1

    # When they submit edited data through htmx
    response = post(
        user_client,
        f"/executions/{first}/rerun",
        {"trigger_data": '{"order": 8, "note": "edited"}', "mode": "start"},
        htmx=True,
    )

    # Then htmx is sent to the new execution, which ran with the edited data; the answer
    # depended on HX-Request, and says so to caches
    assert response.status_code == 204
    assert "HX-Request" in response.headers["Vary"]
    second = new_id(response)
    assert wait_final(app, [second]) == ["completed"]
    assert load(app, second).trigger_data == {"order": 8, "note": "edited"}
    assert load(app, first).trigger_data == {"order": 7}


def test_cancel_a_live_execution_answers_the_changed_fragment(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    # Given a pending execution
    spec = effect_then_flaky(tmp_path / "journal", succeed_on_attempt=1)
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    execution = start(app, workflow, run=False)

    # When the user cancels it through htmx
    response = post(user_client, f"/executions/{execution}/cancel", {}, htmx=True)

    # Then it is cancelled and the answer is the detail fragment, no longer polling
    html = response.get_data(as_text=True).strip()
    assert response.status_code == 200
    assert status(app, execution) == "cancelled"
    assert html.startswith('<section id="execution-detail" class="execution-detail"')
    assert "hx-trigger" not in html.split(">", 1)[0]
    assert '<span class="status-badge status-cancelled">Cancelled</span>' in html
    assert [s.status for s in steps(app, execution)] == ["skipped", "skipped"]

    # When they cancel it again (another tab), they are told why nothing happened
    again = post(user_client, f"/executions/{execution}/cancel", {}, htmx=True)
    assert "Only a pending, running or waiting execution can be cancelled." in again.get_data(
        as_text=True
    )
    # and without JavaScript, the form redirects to the execution page
    plain = post(user_client, f"/executions/{execution}/cancel", {})
    assert plain.status_code == 303 and plain.headers["Location"] == f"/executions/{execution}"


def test_bulk_rerun_requeues_exactly_the_failures_the_filter_matches(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient, tmp_path: Path
) -> None:
    # Given failures of workflow A (one already re-run), failures of workflow B, a live run
    # of A, and a failure of mallory's
    alice, mallory = user_id(app, "alice@example.com"), user_id(app, "mallory@example.com")
    spec = effect_then_flaky(tmp_path / "journal", succeed_on_attempt=1)
    a, b = make_workflow(app, alice, spec), make_workflow(app, alice, spec)
    theirs = make_workflow(app, mallory, spec)
    a_failed = [start(app, a, {"n": n}, run=False) for n in range(3)]
    a_rerun_already = start(app, a, run=False)
    b_failed = [start(app, b, run=False) for _ in range(2)]
    a_live = start(app, a, run=False)
    their_failure = start(app, theirs, run=False)
    for execution in [*a_failed, a_rerun_already, *b_failed, their_failure]:
        force_failed(app, execution)
    post(user_client, f"/executions/{a_rerun_already}/rerun", {"mode": "start"})

    # When alice asks to re-run the failures of workflow A
    confirm = user_client.get(f"/executions/rerun-failed?workflow={a}&status=failed")

    # Then she is shown their count and a form to confirm
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert '<strong class="bulk-count">3</strong> failed executions match' in html
    up_to = re.search(r'name="up_to" value="(\d+)"', html)
    assert up_to and f'name="workflow" value="{a}"' in html

    # When a new failure of A arrives after she read the count, and she confirms
    late = start(app, a, run=False)
    force_failed(app, late)
    before = {e.id for e in executions_of(app, a)}
    response = post(
        user_client,
        "/executions/rerun-failed",
        {"workflow": str(a), "status": "failed", "up_to": up_to.group(1), "mode": "failed"},
    )

    # Then exactly the three counted failures were re-run, and the new runs complete
    assert (
        response.status_code == 303 and response.headers["Location"] == f"/workflows/{a}/executions"
    )
    created = [e for e in executions_of(app, a) if e.id not in before]
    assert sorted(e.rerun_of_id or 0 for e in created) == sorted(a_failed)
    assert wait_final(app, [e.id for e in created]) == ["completed"] * 3
    assert all(len(executions_of(app, w)) == n for w, n in ((b, 2), (theirs, 1)))
    assert status(app, a_live) == "pending"

    # When the same confirmation is posted again (a double click), nothing more is re-run
    post(
        user_client,
        "/executions/rerun-failed",
        {"workflow": str(a), "status": "failed", "up_to": up_to.group(1), "mode": "failed"},
    )
    assert len(executions_of(app, a)) == len(before) + 3
    # and the count now names only the late failure
    html = user_client.get(f"/executions/rerun-failed?workflow={a}").get_data(as_text=True)
    assert '<strong class="bulk-count">1</strong> failed execution matches' in html
