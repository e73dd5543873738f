"""Dry runs from the pages: the editor's "Dry run" buttons (the draft with its sample data, and
Run now with chosen data), "Dry run this again" on an execution's page, the "Dry run" badge in
the list and on the page, and run-key search and figures that leave dry runs out."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Execution
from app.services.executions import stats
from tests.conftest import csrf_token
from tests.dashboard_support import HTMX, make_workflow, start, user_id, wait_final
from tests.dashboard_support import execution as load
from tests.integration.editor_support import Editor, wait_for_final

ORDERS = {
    "name": "Orders",
    "run_key_template": "{{ trigger.customer }}",
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "config": {"fields": {"who": "{{ trigger.customer }}"}},
        },
    ],
}


def _journal_step(journal: Path) -> dict[str, object]:
    # A plugin step that sends (tests/plugins): a real run appends a line to the journal.
    return {"key": "charge", "type": "test_effect", "config": {"journal": str(journal)}}


def test_the_editor_dry_runs_the_draft_and_each_card_says_what_was_not_sent(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    # Given a saved workflow (transform → filter → log) and an unsaved step that sends
    editor = Editor(user_client)
    workflow_id = editor.build()
    journal = tmp_path / "charges.log"
    key = editor.add(workflow_id, "test_effect")
    assert editor.apply(workflow_id, key, {"journal": str(journal)}).status_code == 200

    # Then the editor offers a dry run next to the test run
    page = editor.get(f"/workflows/{workflow_id}").get_data(as_text=True)
    assert 'id="dry-run-workflow" name="dry_run" value="1"' in page
    assert 'id="run-dry" name="dry_run" value="1"' in page  # in the Run now form

    # When the user presses "Dry run"
    response = editor.post(f"/workflows/{workflow_id}/test-run", {"dry_run": "1"})
    assert response.status_code == 201, response.get_data(as_text=True)
    match = re.search(r'data-execution="(\d+)"', response.get_data(as_text=True))
    assert match
    execution_id = int(match.group(1))

    # Then the draft ran as a dry run with the sample data: the sending step did nothing
    execution = wait_for_final(app, execution_id)
    assert (execution.status, execution.dry_run, execution.trigger_type) == (
        "completed",
        True,
        "test",
    )
    assert execution.trigger_data == {"customer": "Ada", "total": 42}
    assert not journal.exists()

    # And its progress says so, on the run and on the sending step's card
    poll = editor.get(f"/workflows/{workflow_id}/test-run/{execution_id}", htmx=True)
    html = poll.get_data(as_text=True)
    assert poll.status_code == 286
    assert "Dry run completed: 4 of 4 steps done. Nothing was sent." in html
    assert "<strong>Dry run:</strong>" in html
    assert "Not run in a dry run: Effect (test) sends" in html
    # A record of what was not sent is no sample: only the real outputs offer "Use as sample"
    assert f'id="use-sample-{key}"' not in html
    assert 'id="use-sample-transform"' in html


def test_run_now_can_dry_run_the_saved_version_with_chosen_data(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    journal = tmp_path / "charges.log"
    spec = {**ORDERS, "steps": [*ORDERS["steps"], _journal_step(journal)]}
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), spec)
    token = csrf_token(user_client, f"/workflows/{workflow_id}")

    # When the user types trigger data into Run now and presses "Dry run"
    response = user_client.post(
        f"/workflows/{workflow_id}/run",
        data={"csrf_token": token, "payload": '{"customer": "bob"}', "dry_run": "1"},
    )

    # Then they land on a dry run of that data, which sent nothing
    assert response.status_code == 303
    execution_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert wait_final(app, [execution_id]) == ["completed"]
    execution = load(app, execution_id)
    assert (execution.dry_run, execution.trigger_type) == (True, "manual")
    assert execution.trigger_data == {"customer": "bob"}
    assert not journal.exists()


def test_an_execution_is_dry_run_again_from_its_page_and_marked_everywhere(
    app: Flask, user_client: FlaskClient, tmp_path: Path
) -> None:
    # Given a real run of a workflow whose second step sends
    journal = tmp_path / "charges.log"
    spec = {**ORDERS, "steps": [*ORDERS["steps"], _journal_step(journal)]}
    workflow_id = make_workflow(app, user_id(app, "alice@example.com"), spec)
    real_id = start(app, workflow_id, {"customer": "ann"})
    assert wait_final(app, [real_id]) == ["completed"]
    assert journal.read_text().count("\n") == 1

    # Its page offers "Dry run this again", and shows no dry-run badge
    page = user_client.get(f"/executions/{real_id}").get_data(as_text=True)
    assert 'id="dry-run-again"' in page
    assert "badge-dry-run" not in page

    # When the user presses it
    token = csrf_token(user_client, f"/executions/{real_id}")
    response = user_client.post(
        f"/executions/{real_id}/rerun", data={"csrf_token": token, "mode": "start", "dry_run": "1"}
    )

    # Then a dry run of the same trigger data starts, linked to the original; nothing is sent
    assert response.status_code == 303
    dry_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert wait_final(app, [dry_id]) == ["completed"]
    dry = load(app, dry_id)
    assert (dry.dry_run, dry.rerun_of_id, dry.trigger_data) == (True, real_id, {"customer": "ann"})
    assert journal.read_text().count("\n") == 1

    # And its page says it is a dry run, step by step
    page = user_client.get(f"/executions/{dry_id}").get_data(as_text=True)
    assert ">Dry run</span>" in page and "nothing was sent" in page
    assert "Not run in a dry run: Effect (test) sends" in page
    assert "Re-run from the start" not in page  # its re-runs are dry runs again

    # And the list marks it, and only it
    listing = user_client.get("/executions", headers=HTMX).get_data(as_text=True)
    rows = {
        int(i): row for i, row in re.findall(r'<tr id="execution-(\d+)"(.*?)</tr>', listing, re.S)
    }
    assert "badge-dry-run" in rows[dry_id]
    assert "badge-dry-run" not in rows[real_id]


def test_run_key_search_and_figures_leave_dry_runs_out_unless_asked(
    app: Flask, user_client: FlaskClient
) -> None:
    owner = user_id(app, "alice@example.com")
    workflow_id = make_workflow(app, owner, ORDERS)
    real_id = start(app, workflow_id, {"customer": "ann"})
    assert wait_final(app, [real_id]) == ["completed"]
    token = csrf_token(user_client, f"/executions/{real_id}")
    user_client.post(
        f"/executions/{real_id}/rerun", data={"csrf_token": token, "mode": "start", "dry_run": "1"}
    )
    with app.app_context():
        dry_id = db.session.scalars(select(Execution.id).where(Execution.dry_run)).one()
    assert wait_final(app, [dry_id]) == ["completed"]

    def found(**query: str) -> set[int]:
        html = user_client.get("/executions", query_string=query, headers=HTMX).get_data(
            as_text=True
        )
        return {int(i) for i in re.findall(r'<tr id="execution-(\d+)"', html)}

    # The plain list shows both; a run-key search finds the real run only, unless asked
    assert found() == {real_id, dry_id}
    assert found(run_key="ann") == {real_id}
    assert found(run_key="ann", include_dry_runs="1") == {real_id, dry_id}
    page = user_client.get("/executions", query_string={"run_key": "ann", "include_dry_runs": "1"})
    assert 'id="filter-include-dry-runs" checked' in page.get_data(as_text=True)

    # And the figures count the real run only
    with app.app_context():
        figures = stats.activity(db.session(), owner)
    assert figures.day.by_status["completed"] == 1
    assert figures.week.total == 1
