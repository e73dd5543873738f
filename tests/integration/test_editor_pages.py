"""The workflow pages around the editor: the list (search, pages, enable toggle), new, save
(versions and History), restore, discard, export and import, and Run now to a finished run."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import container, db
from app.models import Execution, ExecutionStep, Workflow, WorkflowDraft, WorkflowVersion
from tests.integration.editor_support import Editor, fields, wait_for_final


def names(html: str) -> list[str]:
    return re.findall(r'class="workflow-name" href="/workflows/\d+">([^<]+)</a>', html)


def test_a_new_user_sees_an_empty_state_that_explains_what_to_do(user_client: FlaskClient) -> None:
    html = user_client.get("/workflows").get_data(as_text=True)

    assert "No workflows yet" in html
    assert "Create your first workflow" in html and 'href="/workflows/new"' in html


def test_creating_a_workflow_opens_the_editor_on_the_palette(user_client: FlaskClient) -> None:
    editor = Editor(user_client)

    response = editor.post("/workflows", {"name": "  Order intake  "}, htmx=False)
    page = editor.get(response.headers["Location"]).get_data(as_text=True)

    assert response.status_code == 303
    assert re.fullmatch(r"/workflows/\d+\?add=0", response.headers["Location"])
    assert "<h1>Order intake</h1>" in page
    assert "Add a step" in page and 'id="add-transform"' in page


def test_a_workflow_needs_a_name(user_client: FlaskClient) -> None:
    editor = Editor(user_client)

    response = editor.post("/workflows", {"name": "   "}, htmx=False)

    assert response.status_code == 422
    assert fields(response) == ["name"]


def test_the_list_searches_by_name_and_pages_newest_first(user_client: FlaskClient) -> None:
    # Given 25 workflows, three of them about invoices (one with a % in its name)
    editor = Editor(user_client)
    for n in range(22):
        editor.create(f"Report {n:02d}")
    for name in ("Invoice sync", "Overdue invoices", "100% invoices"):
        editor.create(name)

    # When the list is opened, paged, and searched (as htmx does while typing)
    first = editor.get("/workflows").get_data(as_text=True)
    older = re.search(r'href="(/workflows\?after=\d+)"', first)
    assert older
    second = editor.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    found = editor.get("/workflows?q=INVOICE", htmx=True)
    percent = editor.get("/workflows?q=%25", htmx=True).get_data(as_text=True)

    # Then pages hold 20 then 5, newest first, with links both ways
    assert names(first)[:3] == ["100% invoices", "Overdue invoices", "Invoice sync"]
    assert len(names(first)) == 20 and len(names(second)) == 5
    assert "← Newer" in second and "Older →" not in second
    # And the search answers the table fragment, matching case-insensitively, % literally
    html = found.get_data(as_text=True).strip()
    assert html.startswith('<section id="workflow-table"')
    assert names(html) == ["100% invoices", "Overdue invoices", "Invoice sync"]
    assert names(percent) == ["100% invoices"]
    assert "No workflow matches" in editor.get("/workflows?q=zzz").get_data(as_text=True)


def test_the_enable_toggle_works_in_place(app: Flask, user_client: FlaskClient) -> None:
    # Given a saved workflow, shown off in the list
    editor = Editor(user_client)
    workflow_id = editor.build()

    # When the user flips its switch
    response = editor.post(f"/workflows/{workflow_id}/enabled", {"enabled": "1"})

    # Then the answer is its row, now on, and the workflow is enabled
    row = response.get_data(as_text=True).strip()
    assert response.status_code == 200
    assert row.startswith(f'<tr id="workflow-{workflow_id}"') and row.endswith("</tr>")
    assert 'role="switch" aria-checked="true"' in row
    assert '<td data-label="Steps">3</td>' in row
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).enabled  # type: ignore[union-attr]
    # And without JavaScript the same form goes back to the list
    plain = editor.post(f"/workflows/{workflow_id}/enabled", {"enabled": "0"}, htmx=False)
    assert plain.status_code == 302 and plain.headers["Location"] == "/workflows"


def test_saving_bumps_the_version_and_keeps_the_previous_one(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow (version 2: the empty one was version 1)
    editor = Editor(user_client)
    workflow_id = editor.build()

    # When a step is changed, and saved through htmx
    editor.apply(workflow_id, "log", {"message": "Changed", "level": "warning"})
    unsaved = editor.get(f"/workflows/{workflow_id}/toolbar", htmx=True).get_data(as_text=True)
    response = editor.save(workflow_id)

    # Then the answer is the toolbar saying so, the draft is gone, History has version 2
    toolbar = response.get_data(as_text=True)
    assert "Unsaved changes" in unsaved
    assert toolbar.strip().startswith('<header id="editor-toolbar"')
    assert "Saved as version 3." in toolbar and "All changes saved" in toolbar
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None and workflow.version == 3
        assert workflow.actions[2].config == {"message": "Changed", "level": "warning"}
        assert db.session.get(WorkflowDraft, workflow_id) is None
        kept = db.session.scalars(
            select(WorkflowVersion.version).where(WorkflowVersion.workflow_id == workflow_id)
        ).all()
        assert sorted(kept) == [1, 2]
    history = editor.get(f"/workflows/{workflow_id}/history").get_data(as_text=True)
    assert 'Version 3 <span class="badge badge-on">Current</span>' in history
    assert "Restore version 2" in history and "Restore version 1" in history


def test_a_save_with_an_unconfigured_step_opens_that_step_with_the_field_marked(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a workflow whose new log step has no message yet
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "log")

    # When the user saves
    response = editor.save(workflow_id)

    # Then the answer is 422: the log step's panel with the message field named, retargeted
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#panel"
    assert html.strip().startswith('<section id="panel"') and 'data-step-key="log"' in html
    assert fields(response) == ["steps.0.config.message"]
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).version == 1  # type: ignore[union-attr]


def test_restore_saves_an_earlier_version_as_a_new_one(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given version 2 (three steps) and version 3 (the log step deleted)
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.post(f"/workflows/{workflow_id}/steps/log/delete")
    editor.save(workflow_id)

    # When version 2 is restored
    response = editor.post(
        f"/workflows/{workflow_id}/versions/2/restore", {"confirm": "yes"}, htmx=False
    )
    missing = editor.post(
        f"/workflows/{workflow_id}/versions/99/restore", {"confirm": "yes"}, htmx=False
    )

    # Then it is saved again as version 4 and the user lands on the editor
    assert response.status_code == 303
    assert editor.get(response.headers["Location"]).status_code == 200
    assert missing.status_code == 404
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None and workflow.version == 4
        assert [a.key for a in workflow.actions] == ["transform", "filter", "log"]


def test_restore_keeps_the_current_secrets(app: Flask, user_client: FlaskClient) -> None:
    # Given an HTTP step with a token, saved twice
    editor = Editor(user_client)
    workflow_id = editor.create()
    editor.add(workflow_id, "http_request")
    config = {
        "method": "GET",
        "url": "https://example.com/",
        "auth_type": "bearer",
        "auth_token": "tok-1",
    }
    editor.apply(workflow_id, "http_request", config)
    editor.save(workflow_id)
    editor.apply(workflow_id, "http_request", {**config, "auth_token": "••••••", "method": "POST"})
    editor.save(workflow_id)

    # When version 2 (GET) is restored
    editor.post(f"/workflows/{workflow_id}/versions/2/restore", {"confirm": "yes"}, htmx=False)

    # Then the method is GET again and the token is still the stored one
    with app.app_context():
        action = db.session.get(Workflow, workflow_id).actions[0]  # type: ignore[union-attr]
        assert action.config["method"] == "GET"
        assert container(app).secrets.decrypt(action.config["auth_token"]) == "tok-1"


def test_discard_drops_the_unsaved_changes(app: Flask, user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.post(f"/workflows/{workflow_id}/steps/log/delete")

    response = editor.post(f"/workflows/{workflow_id}/discard")

    assert response.headers["HX-Redirect"] == f"/workflows/{workflow_id}"
    flow = editor.get(f"/workflows/{workflow_id}/flow", htmx=True).get_data(as_text=True)
    assert 'id="step-log"' in flow
    with app.app_context():
        assert db.session.get(WorkflowDraft, workflow_id) is None


def test_export_then_import_makes_a_copy_without_secrets(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow with a secret
    editor = Editor(user_client)
    workflow_id = editor.build("Exported")
    editor.add(workflow_id, "http_request")
    editor.apply(
        workflow_id,
        "http_request",
        {
            "method": "GET",
            "url": "https://example.com/",
            "auth_type": "bearer",
            "auth_token": "t0k",
        },
    )
    editor.save(workflow_id)

    # When it is exported, then imported as a file
    exported = editor.get(f"/workflows/{workflow_id}/export")
    document = exported.get_data(as_text=True)
    imported = user_client.post(
        "/workflows/import",
        data={
            "csrf_token": editor.token,
            "file": (__import__("io").BytesIO(exported.data), "w.json"),
        },
        content_type="multipart/form-data",
    )

    # Then the file is the definition without the token, and the copy is a disabled workflow
    assert exported.headers["Content-Disposition"] == 'attachment; filename="exported-v3.json"'
    spec = json.loads(document)
    assert [s["key"] for s in spec["steps"]] == ["transform", "filter", "log", "http_request"]
    assert "t0k" not in document and "auth_token" not in document and "enc:v1" not in document
    # (the bearer token the file leaves out is required: the steps come in as unsaved changes)
    assert imported.status_code == 303
    page = editor.get(imported.headers["Location"]).get_data(as_text=True)
    assert "some steps need values the file cannot hold" in page
    assert "Auth token: Required for bearer authentication." in page and "Has errors" in page
    with app.app_context():
        copies = db.session.scalars(select(Workflow).where(Workflow.name == "Exported")).all()
        assert len(copies) == 2 and not copies[1].enabled and copies[1].actions == []
        draft = db.session.get(WorkflowDraft, copies[1].id)
        assert draft is not None
        keys = [s["key"] for s in draft.spec["steps"]]
        assert keys == ["transform", "filter", "log", "http_request"]


def test_a_complete_import_is_saved_as_version_1(app: Flask, user_client: FlaskClient) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build("Plain")
    exported = editor.get(f"/workflows/{workflow_id}/export").get_data(as_text=True)

    imported = editor.post("/workflows/import", {"json": exported}, htmx=False)

    assert imported.status_code == 303
    with app.app_context():
        plain = select(Workflow).where(Workflow.name == "Plain").order_by(Workflow.id)
        copy = db.session.scalars(plain).all()[1]  # (ordered: PostgreSQL keeps no row order)
        assert copy.version == 1 and [a.key for a in copy.actions] == ["transform", "filter", "log"]
        assert db.session.get(WorkflowDraft, copy.id) is None


def test_an_import_that_is_not_a_workflow_is_refused_naming_the_field(
    user_client: FlaskClient,
) -> None:
    editor = Editor(user_client)
    bad_type = json.dumps({"name": "x", "steps": [{"key": "a", "type": "teleport"}]})

    not_json = editor.post("/workflows/import", {"json": "{nope"}, htmx=False)
    unknown = editor.post("/workflows/import", {"json": bad_type}, htmx=False)
    nothing = editor.post("/workflows/import", {"json": ""}, htmx=False)

    assert not_json.status_code == unknown.status_code == nothing.status_code == 422
    assert fields(not_json) == ["file"]
    assert fields(unknown) == ["steps.0.type"]
    assert "Unknown action type" in unknown.get_data(as_text=True)


def test_run_now_starts_the_saved_version_and_lands_on_the_execution(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow: transform → filter (total > 10) → log
    editor = Editor(user_client)
    workflow_id = editor.build()

    # When the user runs it now with a payload
    response = editor.post(
        f"/workflows/{workflow_id}/run", {"payload": '{"customer": "Bo", "total": 99}'}
    )

    # Then the browser is sent to the execution's page, and the run completes
    target = response.headers["HX-Redirect"]
    match = re.fullmatch(r"/executions/(\d+)", target)
    assert match
    execution = wait_for_final(app, int(match.group(1)))
    assert execution.status == "completed"
    assert execution.trigger_type == "manual" and execution.workflow_version == 2
    with app.app_context():
        outputs: dict[str, Any] = dict(
            db.session.execute(
                select(ExecutionStep.action_key, ExecutionStep.output).where(
                    ExecutionStep.execution_id == execution.id
                )
            ).all()
        )
    assert outputs["log"] == {"message": "Order from Bo", "level": "info"}
    # And the list shows the run
    listing = editor.get("/workflows").get_data(as_text=True)
    assert f'href="/executions/{execution.id}"' in listing and "Completed" in listing


def test_run_now_refuses_a_payload_that_is_not_a_json_object(
    app: Flask, user_client: FlaskClient
) -> None:
    editor = Editor(user_client)
    workflow_id = editor.build()

    response = editor.post(f"/workflows/{workflow_id}/run", {"payload": "[1, 2]"})

    html = response.get_data(as_text=True).strip()
    assert response.status_code == 422
    assert html.startswith('<details id="run-now"') and fields(response) == ["payload"]
    with app.app_context():
        assert db.session.scalars(select(Execution)).all() == []


def test_the_editor_works_without_javascript(app: Flask, user_client: FlaskClient) -> None:
    # Given a workflow, driven with plain forms and links only
    editor = Editor(user_client)
    workflow_id = editor.create()

    # When a step is added, configured, moved and saved without htmx
    added = editor.post(f"/workflows/{workflow_id}/steps", {"type": "log", "at": 0}, htmx=False)
    page = editor.get(added.headers["Location"]).get_data(as_text=True)
    applied = editor.post(
        f"/workflows/{workflow_id}/steps/log",
        {"key": "log", "config.message": "hi", "config.level": "info"},
        htmx=False,
    )
    saved = editor.post(f"/workflows/{workflow_id}/save", htmx=False)

    # Then each answer sends the browser back to the editor page, which shows the result
    assert added.status_code == applied.status_code == saved.status_code == 303
    assert added.headers["Location"] == f"/workflows/{workflow_id}?step=log"
    assert f'action="/workflows/{workflow_id}/steps/log"' in page
    final = editor.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved as version 2." in final
    with app.app_context():
        assert db.session.get(Workflow, workflow_id).version == 2  # type: ignore[union-attr]


def test_deleting_a_workflow_asks_for_the_confirmation_box(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow that has run once
    editor = Editor(user_client)
    workflow_id = editor.build()
    run = editor.post(f"/workflows/{workflow_id}/run", {"payload": "{}"})
    wait_for_final(app, int(run.headers["HX-Redirect"].rsplit("/", 1)[1]))

    # When the settings panel posts Delete without ticking the box, then with it
    unticked = editor.post(f"/workflows/{workflow_id}/delete")
    ticked = editor.post(f"/workflows/{workflow_id}/delete", {"confirm": "yes"})

    # Then the first is refused beside the box, the second deletes it with its runs
    assert unticked.status_code == 422 and fields(unticked) == ["confirm"]
    assert ticked.headers["HX-Redirect"] == "/workflows"
    with app.app_context():
        assert db.session.get(Workflow, workflow_id) is None
        assert db.session.scalars(select(Execution)).all() == []
    assert editor.get(f"/workflows/{workflow_id}").status_code == 404


def test_saving_after_only_testing_keeps_the_version_and_the_samples(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a saved workflow whose transform step is tested (nothing else changed)
    editor = Editor(user_client)
    workflow_id = editor.build()
    editor.post(
        f"/workflows/{workflow_id}/steps/transform/test",
        {"key": "transform", "config.fields": '{"who": "{{ trigger.customer }}"}'},
    )

    # When the user saves
    response = editor.save(workflow_id)

    # Then no version is made, and the test output is kept as the step's sample
    assert "Nothing to save." in response.get_data(as_text=True)
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None and workflow.version == 2
        assert workflow.actions[0].sample_output == {"who": "Ada"}
        assert db.session.get(WorkflowDraft, workflow_id) is None
