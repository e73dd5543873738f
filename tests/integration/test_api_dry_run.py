"""Dry runs through the JSON API: POST /workflows/{id}/dry-run, `dry_run` on executions and
re-runs, and `include_dry_runs` for run-key searches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


def charging(journal: Path) -> dict[str, Any]:
    return {
        "name": "Charge",
        "run_key_template": "{{ trigger.customer }}",
        "steps": [
            {"key": "shape", "type": "transform", "config": {"fields": {"n": "{{ trigger.n }}"}}},
            {"key": "charge", "type": "test_effect", "config": {"journal": str(journal)}},
        ],
    }


def test_a_dry_run_through_the_api_sends_nothing_and_is_marked(alice: Api, tmp_path: Path) -> None:
    # Given a workflow whose second step sends, not even enabled
    journal = tmp_path / "charges.log"
    workflow = alice.create(charging(journal))

    # When a script dry runs it with trigger data
    response = alice.post(f"/workflows/{workflow['id']}/dry-run", {"n": 3, "customer": "ann"})

    # Then it is accepted as a dry run, runs its pure step for real and skips the one that sends
    assert response.status_code == 202
    accepted = response.get_json()
    assert (accepted["dry_run"], accepted["trigger_type"], accepted["run_key"]) == (
        True,
        "api",
        "ann",
    )
    done = alice.wait(accepted["id"])
    assert (done["status"], done["dry_run"]) == ("completed", True)
    shape, charge = done["steps"]
    assert shape["output"] == {"n": 3}
    assert charge["output"]["dry_run"] == "skipped"
    assert not journal.exists()

    # And a real trigger of the (enabled) workflow is marked as no dry run
    alice.post(f"/workflows/{workflow['id']}/enable")
    real = alice.post(f"/workflows/{workflow['id']}/trigger", {"n": 1, "customer": "ann"})
    assert real.get_json()["dry_run"] is False
    assert alice.wait(real.get_json()["id"])["status"] == "completed"
    assert journal.exists()

    # And a run-key search leaves the dry run out unless asked for
    def found(**query: Any) -> list[int]:
        answer = alice.get("/workflows/executions/history", run_key="ann", **query)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [item["id"] for item in answer.get_json()["items"]]

    assert found() == [real.get_json()["id"]]
    assert found(include_dry_runs="true") == [real.get_json()["id"], accepted["id"]]
    bad = alice.get("/workflows/executions/history", run_key="ann", include_dry_runs="yes")
    assert bad.status_code == 400 and error_of(bad)["field"] == "include_dry_runs"


def test_a_rerun_can_be_a_dry_run_and_a_dry_run_reruns_dry(alice: Api, tmp_path: Path) -> None:
    journal = tmp_path / "charges.log"
    workflow = alice.create(charging(journal), enable=True)
    first = alice.post(f"/workflows/{workflow['id']}/trigger", {"n": 1, "customer": "ann"})
    first_id = first.get_json()["id"]
    alice.wait(first_id)
    assert journal.read_text().count("\n") == 1

    # A re-run asked as a dry run sends nothing
    dry = alice.post(f"/workflows/executions/{first_id}/rerun", {"dry_run": True})
    assert dry.status_code == 202 and dry.get_json()["dry_run"] is True
    alice.wait(dry.get_json()["id"])
    # A re-run of a dry run is a dry run again, unless asked otherwise
    again = alice.post(f"/workflows/executions/{dry.get_json()['id']}/rerun")
    assert again.get_json()["dry_run"] is True
    alice.wait(again.get_json()["id"])
    assert journal.read_text().count("\n") == 1
    real = alice.post(f"/workflows/executions/{dry.get_json()['id']}/rerun", {"dry_run": False})
    assert real.get_json()["dry_run"] is False
    alice.wait(real.get_json()["id"])
    assert journal.read_text().count("\n") == 2


def test_the_openapi_document_describes_dry_runs(alice: Api) -> None:
    document = alice.get("/openapi.json").get_json()
    assert "/api/v1/workflows/{workflow_id}/dry-run" in document["paths"]
    summary = document["components"]["schemas"]["ExecutionSummary"]
    assert "dry_run" in summary["properties"] and "dry_run" in summary["required"]
    history = document["paths"]["/api/v1/executions"]["get"]
    assert "include_dry_runs" in [p["name"] for p in history["parameters"]]
