"""The step panel's "Run only if" section: the condition builder's rows, kept in the draft,
saved on the step's definition, shown on the card; refused input names the field."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.models import Workflow, WorkflowDraft
from app.services.workflows import version_diff, versions
from tests.integration.editor_support import Editor, fields, wait_for_final

ROWS = {
    "run_if.match": "any",
    "run_if.conditions-0-left": "{{ trigger.total }}",
    "run_if.conditions-0-operator": "greater_than",
    "run_if.conditions-0-right": "10",
    "run_if.conditions-1-left": "{{ trigger.customer }}",
    "run_if.conditions-1-operator": "is_not_empty",
    "run_if.conditions-1-right": "",
    "run_if.conditions-2-left": "",  # the builder's blank row
}


def _draft_step(app: Flask, workflow_id: int, index: int = 0) -> dict[str, Any]:
    with app.app_context():
        draft = db.session.get(WorkflowDraft, workflow_id)
        assert draft is not None
        return dict(draft.spec["steps"][index])


def test_setting_a_condition_in_the_panel_saves_it(app: Flask, user_client: FlaskClient) -> None:
    # Given a workflow with a log step, its panel showing the collapsed section
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.sample(workflow_id, '{"customer": "Ada", "total": 42}')
    editor.add(workflow_id, "log")
    panel = editor.get(f"/workflows/{workflow_id}?step=log", htmx=True).get_data(as_text=True)
    assert '<details class="run-if-settings" id="run-if">' in panel  # collapsed
    assert "Add condition" in panel
    assert 'name="run_if.conditions-0-left"' not in panel  # loaded when the section opens
    builder = editor.get(f"/workflows/{workflow_id}/steps/log/run-if", htmx=True)
    assert builder.status_code == 200
    assert 'name="run_if.conditions-0-left"' in builder.get_data(as_text=True)
    assert 'name="run_if.match"' in builder.get_data(as_text=True)
    without_js = editor.get(f"/workflows/{workflow_id}/steps/log/run-if")
    assert without_js.status_code == 303
    assert without_js.headers["Location"].endswith("?step=log&run_if=1#run-if")
    opened = editor.get(without_js.headers["Location"]).get_data(as_text=True)
    assert '<details class="run-if-settings" id="run-if" open>' in opened
    assert 'name="run_if.conditions-0-left"' in opened

    # When the user fills two conditions of the builder (any of them) and applies
    ok = editor.apply(workflow_id, "log", {"message": "big order"}, **ROWS)

    # Then the draft's step carries them, the panel shows them open, the card sums them up
    assert ok.status_code == 200, ok.get_data(as_text=True)
    expected = {
        "match": "any",
        "conditions": [
            {"left": "{{ trigger.total }}", "operator": "greater_than", "right": 10},
            {"left": "{{ trigger.customer }}", "operator": "is_not_empty", "right": None},
        ],
    }
    assert _draft_step(app, workflow_id)["run_if"] == expected
    html = ok.get_data(as_text=True)
    assert '<details class="run-if-settings" id="run-if" open>' in html
    assert 'value="{{ trigger.total }}"' in html
    flow = editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)
    assert (
        "Only if {{ trigger.total }} is greater than 10 or {{ trigger.customer }} is not empty"
        in flow
    )

    # And Save puts them on the workflow's definition (what executions run)
    assert editor.save(workflow_id).status_code == 200
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        assert workflow.actions[0].run_if == expected

    # When every row is cleared, the step always runs again
    cleared = editor.apply(workflow_id, "log", {"message": "big order"}, **{"run_if.match": "all"})
    assert cleared.status_code == 200
    assert _draft_step(app, workflow_id).get("run_if") is None


def test_a_broken_condition_is_refused_naming_the_field(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    bad = editor.apply(
        workflow_id,
        "log",
        {"message": "x"},
        **{
            "run_if.conditions-0-left": "{{ trigger.total",
            "run_if.conditions-0-operator": "equals",
            "run_if.conditions-0-right": "1",
        },
    )

    assert bad.status_code == 422
    assert fields(bad) == ["steps.0.run_if.conditions.0.left"]
    html = bad.get_data(as_text=True)
    assert '<details class="run-if-settings" id="run-if" open>' in html
    assert 'value="{{ trigger.total"' in html  # what was typed is shown again
    assert _draft_step(app, workflow_id)["run_if"]["conditions"][0]["left"] == "{{ trigger.total"


def test_a_condition_reading_a_later_step_is_flagged_on_the_card(
    user_client: FlaskClient,
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")
    editor.add(workflow_id, "transform")

    editor.apply(
        workflow_id,
        "log",
        {"message": "x"},
        **{
            "run_if.conditions-0-left": "{{ steps.transform.ok }}",
            "run_if.conditions-0-operator": "is_true",
        },
    )

    flow = editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)
    card = flow[flow.index('<li id="step-log"') : flow.index('<li id="step-transform"')]
    assert "Has errors" in card
    assert "Uses step “transform”, which runs after this one." in card


def test_the_execution_page_says_why_a_step_was_skipped(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow whose log step runs only if the total is over 100
    editor = Editor(user_client)
    workflow_id = editor.build()
    only_big = {
        "run_if.conditions-0-left": "{{ trigger.total }}",
        "run_if.conditions-0-operator": "greater_than",
        "run_if.conditions-0-right": "100",
    }
    message = {"message": "Order from {{ steps.transform.who }}", "level": "info"}
    assert editor.apply(workflow_id, "log", message, **only_big).status_code == 200
    assert editor.save(workflow_id).status_code == 200

    # When it runs with a small total
    response = editor.post(
        f"/workflows/{workflow_id}/run", {"payload": '{"customer": "Bo", "total": 99}'}
    )
    match = re.fullmatch(r"/executions/(\d+)", response.headers["HX-Redirect"])
    assert match
    execution = wait_for_final(app, int(match.group(1)))

    # Then the run completed, and its page shows the skipped step's reason with the values
    assert execution.status == "completed"
    page = editor.get(f"/executions/{execution.id}").get_data(as_text=True)
    assert (
        "Skipped: “Run only if” (all of) did not hold: 99 is greater than 100 (did not hold)."
        in page
    )


def test_export_import_and_the_versions_diff_carry_the_condition(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow whose log step has a condition
    editor = Editor(user_client)
    workflow_id = editor.build()
    plain = {"message": "Order from {{ steps.transform.who }}", "level": "info"}
    editor.apply(workflow_id, "log", plain, **ROWS)
    assert editor.save(workflow_id).status_code == 200

    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        handlers = container().handlers
        # When it is exported and imported again
        exported = json.loads(versions.export_json(workflow, handlers))
        assert exported["steps"][2]["run_if"]["match"] == "any"
        copy, complete = versions.import_json(
            db.session(), workflow.user_id, json.dumps(exported), container().secrets, handlers
        )
        # Then the copy's step has the same condition
        assert complete
        assert copy.actions[2].run_if == workflow.actions[2].run_if
        # And an older export (no run_if) still imports: the step always runs
        del exported["steps"][2]["run_if"]
        older, _ = versions.import_json(
            db.session(), workflow.user_id, json.dumps(exported), container().secrets, handlers
        )
        assert older.actions[2].run_if is None
        # And the versions diff names the changed condition
        before, after = dict(exported), json.loads(versions.export_json(workflow, handlers))
        changes = version_diff.diff(before, after)
        assert [c.field for c in changes if c.field and c.field.startswith("run_if")]


def test_a_row_that_cannot_be_read_is_refused_and_kept_as_typed(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    # When a condition's comparison is not one the builder offers (a stale page, a script)
    bad = editor.apply(
        workflow_id,
        "log",
        {"message": "x"},
        **{
            "run_if.conditions-0-left": "{{ trigger.country }}",
            "run_if.conditions-0-operator": "roughly",
            "run_if.conditions-0-right": "FR",
        },
    )

    # Then it is refused beside the builder, and the draft keeps the row as typed
    assert bad.status_code == 422
    assert fields(bad) == ["steps.0.run_if.conditions"]
    kept = _draft_step(app, workflow_id)["run_if"]
    assert kept["conditions"] == [
        {"left": "{{ trigger.country }}", "operator": "roughly", "right": "FR"}
    ]
    panel = editor.get(f"/workflows/{workflow_id}?step=log", htmx=True).get_data(as_text=True)
    assert 'value="FR"' in panel
