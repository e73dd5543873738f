"""Export and import of a workflow that waits: its wait steps (a call; an approval and a call to
another workflow once those kinds are installed), the earlier step that sends the resume URL,
and its settings (time zone, time limits) come back the same, through the API and through
`flask workflows export|import`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container
from tests.api_client import Api, issue_token

SETTINGS = {"timezone": "Europe/Paris", "time_limit_seconds": 7200, "step_time_limit_seconds": 90}


def _set(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings without those left unset (null: what happens when a run fails, say)."""
    return {k: v for k, v in settings.items() if v is not None}


def _steps(app: Flask, child_id: int) -> list[dict[str, Any]]:
    """The wait steps of every kind this app runs, after a step that sends the resume URL."""
    steps: list[dict[str, Any]] = [
        {
            "key": "tell",
            "type": "log",
            "name": "Send the link",
            "config": {"message": "Reply at {{ steps.hold.resume_url }}", "level": "info"},
        },
        {
            "key": "hold",
            "type": "wait_for_call",
            "name": "Wait for the reply",
            "config": {
                "timeout_amount": 2,
                "timeout_unit": "days",
                "on_timeout": "continue",
                "default_output": {"answer": "none"},
            },
        },
    ]
    actions = container(app).handlers.actions
    if "approval" in actions:  # (H-approval's kind)
        steps.append(
            {
                "key": "boss",
                "type": "approval",
                "name": "Ask the boss",
                "config": {
                    "title": "Ship {{ trigger.order }}?",
                    "fields": {"Answer": "{{ steps.hold.body }}"},
                    "timeout_amount": 3,
                    "timeout_unit": "days",
                    "on_reject": "continue",
                },
            }
        )
    if "run_workflow" in actions:  # (H-children's kind)
        steps.append(
            {
                "key": "child",
                "type": "run_workflow",
                "name": "Ship it",
                "config": {"workflow_id": child_id, "data": {"order": "{{ trigger.order }}"}},
            }
        )
    return steps


def _definition(body: dict[str, Any]) -> dict[str, Any]:
    keep = ("name", "description", "trigger", "steps", "run_key_template", "settings")
    return {k: body[k] for k in keep}


def test_a_waiting_workflow_and_its_settings_round_trip_through_the_api(
    app: Flask, client: FlaskClient
) -> None:
    # Given alice's workflow with wait steps and settings
    alice = Api(client, issue_token(app))
    child = alice.create({"name": "Shipping", "steps": []})
    spec = {"name": "Orders that wait", "steps": _steps(app, child["id"]), "settings": SETTINGS}
    created = alice.create(spec)
    assert _set(created["settings"]) == SETTINGS
    assert [s["type"] for s in created["steps"]][:2] == ["log", "wait_for_call"]

    # When she exports it and imports the file
    exported = alice.get(f"/workflows/{created['id']}/export")
    assert exported.status_code == 200
    document = exported.get_json()
    assert _set(document["workflow"]["settings"]) == SETTINGS
    imported = alice.post("/workflows/import", document)

    # Then the copy is the same definition, settings included
    assert imported.status_code == 201, imported.get_json()
    copy_ = alice.get(f"/workflows/{imported.get_json()['id']}").get_json()
    assert _definition(copy_) == _definition(alice.get(f"/workflows/{created['id']}").get_json())

    # And an import whose settings are wrong is refused, naming the field
    document["workflow"]["settings"] = {**SETTINGS, "timezone": "Europe"}
    refused = alice.post("/workflows/import", document)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"].endswith("settings.timezone")
    document["workflow"]["settings"] = {**SETTINGS, "time_limit_seconds": 31 * 86400}
    refused = alice.post("/workflows/import", document)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"].endswith("settings.time_limit_seconds")


def test_a_waiting_workflow_round_trips_through_the_cli(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    # Given alice's workflow with wait steps and settings
    alice = Api(client, issue_token(app))
    child = alice.create({"name": "Shipping", "steps": []})
    created = alice.create(
        {"name": "Orders that wait", "steps": _steps(app, child["id"]), "settings": SETTINGS}
    )
    file = tmp_path / f"stepline-workflow-{created['id']}.json"
    runner = app.test_cli_runner()

    # When she exports it to a file and imports the file from a shell
    user = ["--user", "alice@example.com"]
    exported = runner.invoke(
        args=["workflows", "export", *user, str(created["id"]), "--out", str(tmp_path)]
    )
    assert exported.exit_code == 0, exported.output
    assert _set(json.loads(file.read_text())["workflow"]["settings"]) == SETTINGS
    imported = runner.invoke(args=["workflows", "import", "--user", "alice@example.com", str(file)])

    # Then the new workflow holds the same steps and settings
    assert imported.exit_code == 0, imported.output
    new_id = int(imported.output.split("\t")[1])
    copy_ = alice.get(f"/workflows/{new_id}").get_json()
    assert _definition(copy_) == _definition(alice.get(f"/workflows/{created['id']}").get_json())
