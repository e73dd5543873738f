"""Runs that explain themselves: the execution page shows data as a tree with copy buttons and
the raw JSON on request, says why a step was skipped (which condition, with which values),
links each step to the editor (the live one for the current version, else that version
read-only), and the editor's step panel lists the step's last runs."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.models import Workflow
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec
from tests.dashboard_support import HTMX, make_workflow, start, steps, user_id, wait_final

BIG_ORDERS = {
    "name": "Big orders",
    "steps": [
        {
            "key": "shape",
            "type": "transform",
            "name": "Shape the order",
            "config": {
                "fields": {"amount": "{{ trigger.body.amount }}", "who": "{{ trigger.who }}"}
            },
        },
        {
            "key": "big_only",
            "type": "filter",
            "name": "Only big orders",
            "config": {
                "conditions": [
                    {"left": "{{ trigger.body.amount }}", "operator": "greater_than", "right": 100}
                ]
            },
        },
        {"key": "record", "type": "log", "name": "Record it", "config": {"message": "big"}},
    ],
}
ANY_OF = {
    "name": "Priority",
    "steps": [
        {
            "key": "urgent",
            "type": "filter",
            "name": "Urgent or VIP",
            "config": {
                "match": "any",
                "conditions": [
                    {"left": "{{ trigger.priority }}", "operator": "equals", "right": "high"},
                    {
                        "match": "all",
                        "conditions": [
                            {"left": "{{ trigger.vip }}", "operator": "is_true"},
                            {
                                "left": "{{ trigger.country }}",
                                "operator": "starts_with",
                                "right": "F",
                            },
                        ],
                    },
                ],
            },
        },
        {"key": "notify", "type": "log", "name": "Notify", "config": {"message": "go"}},
        {
            "key": "off",
            "type": "log",
            "name": "Turned off",
            "enabled": False,
            "config": {"message": "x"},
        },
    ],
}
FAILING = {
    "name": "Breaks",
    "steps": [
        {"key": "boom", "type": "test_flaky", "name": "Boom", "config": {"succeed_on_attempt": 9}},
        {"key": "after", "type": "log", "name": "After", "config": {"message": "never"}},
    ],
}


def _text(html: str) -> str:
    """The page's words as a reader sees them: tags dropped, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def _step_block(html: str, step_id: int) -> str:
    return html.split(f'id="step-{step_id}"', 1)[1].split("</li>\n  {% for", 1)[0]


def _run(app: Flask, spec: dict[str, Any], data: dict[str, Any]) -> tuple[int, int]:
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    execution = start(app, workflow, data)
    wait_final(app, [execution])
    return workflow, execution


def _save_new_version(app: Flask, workflow_id: int, spec: dict[str, Any]) -> None:
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None
        handlers = container().handlers
        crud.update_workflow(
            db.session(), workflow, WorkflowSpec.model_validate(spec), container().secrets, handlers
        )
        db.session.commit()


def test_inputs_outputs_and_trigger_data_show_as_trees_with_types_copy_and_raw_json(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run with nested trigger data
    data = {"who": "Ada", "body": {"amount": 250, "tags": ["new", "web"], "paid": True}}
    _, execution = _run(app, BIG_ORDERS, data)

    # When alice opens its page
    response = user_client.get(f"/executions/{execution}")
    html = response.get_data(as_text=True)

    # Then the trigger data is a tree: keys as labels, types as badges, lists and objects fold
    assert response.status_code == 200
    trigger = html.split('id="trigger-data-view"', 1)[1]
    assert '<div class="data-tree dt-copyable" id="trigger-data-view-tree"' in trigger
    assert (
        '<span class="dt-key">amount</span> <span class="dt-type dt-type-number">number</span>'
        in (trigger)
    )
    assert (
        '<span class="dt-type dt-type-list">list</span> <span class="dt-count">2 items</span>'
        in (trigger)
    )
    assert '<span class="dt-type dt-type-boolean">boolean</span>' in trigger
    # the whole has Copy JSON (data.js adds a copy button to each value as it unfolds)
    assert 'class="button quiet small js-only dv-copy-all" data-dt-copy' in trigger
    assert "<span>Copy JSON</span>" in trigger
    # and the raw JSON stays one click away
    raw = trigger.split("<summary>Raw JSON</summary>", 1)[1].split("</pre>", 1)[0]
    assert unescape(raw).count('"amount": 250') == 1
    # The steps' inputs and outputs are trees too (no bare JSON dump)
    (shape, *_) = steps(app, execution)
    block = html.split(f'id="step-{shape.id}-output"', 1)[1].split("</details>\n", 1)[0]
    assert f'id="step-{shape.id}-output-data-tree"' in block
    assert '<span class="dt-key">who</span> <span class="dt-type dt-type-string">string</span>' in (
        block
    )
    assert f'id="step-{shape.id}-input-data"' in html


def test_a_step_skipped_by_a_filter_says_which_condition_with_which_values(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a filter on the amount, and a run whose amount is too small
    _, execution = _run(app, BIG_ORDERS, {"who": "Ada", "body": {"amount": 12}})
    _shape, big_only, record = steps(app, execution)
    assert (big_only.status, record.status) == ("completed", "skipped")

    # When alice opens the run
    html = user_client.get(f"/executions/{execution}").get_data(as_text=True)
    text = _text(html)

    # Then the skipped step says which filter stopped the run, on which condition, with which value
    assert (
        "Skipped: the filter “Only big orders” (step 2) stopped the run: "
        "trigger.body.amount (= 12) is greater than 100 was false." in text
    )
    # and the filter itself shows its decision, condition by condition
    assert "Stopped the run here: the later steps were skipped" in text
    assert "trigger.body.amount (= 12) is greater than 100 — false" in text


def test_groups_disabled_steps_and_failures_are_explained_too(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given an "any" filter with a group that ran and did not pass
    _, execution = _run(app, ANY_OF, {"priority": "low", "vip": "yes", "country": "DE"})
    html = user_client.get(f"/executions/{execution}").get_data(as_text=True)
    text = _text(html)

    # Then every condition is listed with its value and result, the group's inner ones too
    assert (
        "Skipped: the filter “Urgent or VIP” (step 1) stopped the run: none of its conditions held."
        in text
    )
    assert 'trigger.priority (= "low") is equal to "high" — false' in text
    assert "All of: — false" in text
    assert 'trigger.vip (= "yes") is true — true' in text
    assert 'trigger.country (= "DE") starts with "F" — false' in text
    # and a step turned off says so
    assert "Skipped: this step was turned off in the version that ran." in text

    # Given a step that failed the run
    _, failed = _run(app, FAILING, {})
    text = _text(user_client.get(f"/executions/{failed}").get_data(as_text=True))
    # Then the next one says why it did not run
    assert "Not run: step 1 “Boom” failed." in text


def test_each_step_links_to_the_editor_or_to_the_version_it_ran(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run of the current version
    workflow, execution = _run(app, BIG_ORDERS, {"who": "Ada", "body": {"amount": 500}})
    html = user_client.get(f"/executions/{execution}").get_data(as_text=True)

    # Then each step opens the live editor with that step's panel
    assert (
        f'<a class="step-editor-link" href="/workflows/{workflow}?step=big_only">Open in the editor'
        in (html)
    )

    # When the workflow is saved again (version 2), the same run's page
    changed = {**BIG_ORDERS, "steps": BIG_ORDERS["steps"][:2]}
    _save_new_version(app, workflow, changed)
    html = user_client.get(f"/executions/{execution}").get_data(as_text=True)

    # Then links to version 1, read-only, with the step open and highlighted
    link = f"/workflows/{workflow}/versions/1?step=record#step-record"
    assert f'<a class="step-editor-link" href="{link}">View in version 1' in html
    page = user_client.get(link.split("#")[0])
    version = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Read-only: version 1 as it was saved" in _text(version)
    assert "the workflow is at version 2 now" in _text(version)
    selected = version.split('id="step-record"', 1)[1].split("</summary>", 1)[0]
    assert (
        'class="version-step is-selected"' in selected and '<details class="card" open>' in selected
    )
    assert "Step 3: Record it" in selected
    # the other steps stay folded, and nothing on the page edits
    assert version.count('<details class="card" open>') == 1
    assert 'method="post"' not in version.split("<main", 1)[1].split("</main>", 1)[0].replace(
        'class="logout" method="post"', ""
    )
    # the current version's page exists too, and an unknown version is a plain 404
    assert user_client.get(f"/workflows/{workflow}/versions/2").status_code == 200
    assert user_client.get(f"/workflows/{workflow}/versions/7").status_code == 404


def test_the_step_panel_lists_the_steps_last_runs_lazily(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given two runs of a workflow
    workflow, first = _run(app, BIG_ORDERS, {"who": "Ada", "body": {"amount": 500}})
    second = start(app, workflow, {"who": "Bob", "body": {"amount": 5}})
    wait_final(app, [second])
    record_first = steps(app, first)[2]

    # When alice opens the step's panel in the editor
    panel = user_client.get(f"/workflows/{workflow}?step=record", headers=HTMX)
    panel_html = panel.get_data(as_text=True)

    # Then the panel asks for the last runs after it is shown (not inside the panel's answer)
    runs_url = f"/workflows/{workflow}/steps/record/runs"
    assert f'hx-get="{runs_url}" hx-trigger="load" hx-swap="outerHTML"' in panel_html
    assert "status-badge" not in panel_html.split('id="step-runs"', 1)[1].split("</section>", 1)[0]

    # When htmx loads them
    runs = user_client.get(runs_url, headers=HTMX)
    runs_html = runs.get_data(as_text=True)

    # Then they are listed newest first with status, time and duration, each linking to the
    # run at that step
    assert runs.status_code == 200
    assert runs_html.strip().startswith('<section id="step-runs"')
    assert runs_html.index(f"#{second}") < runs_html.index(f"#{first}<")
    assert f'href="/executions/{first}#step-{record_first.id}"' in runs_html
    assert '<span class="status-badge status-completed">Completed</span>' in runs_html
    assert '<span class="status-badge status-skipped">Skipped</span>' in runs_html
    assert "did not run" in runs_html  # the skipped one has no duration
    assert re.search(r"\d+ ms", runs_html)
    # The same address without htmx is a page of its own
    assert "<html" in user_client.get(runs_url).get_data(as_text=True)
    # A step that never ran says so; another user's workflow is not found
    empty = user_client.get(f"/workflows/{workflow}/steps/nothing/runs", headers=HTMX)
    assert "No run of step “nothing” among the workflow's last 200 runs yet." in unescape(
        empty.get_data(as_text=True)
    )
    assert other_client.get(runs_url, headers=HTMX).status_code == 404
    assert other_client.get(f"/workflows/{workflow}/versions/1").status_code == 404
