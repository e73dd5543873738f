"""A run whose continue-on-error step failed ends `completed`, never as a silent success: a
"with errors" marker in the list, on its page, a status filter, `has_errors` in the API and its
own count in the metrics. Both backends (on PostgreSQL the run's last record is the one-statement
finish when the failed step came earlier, the portable finish when it is the last step)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.api_client import Api, issue_token
from tests.dashboard_support import make_workflow, start, user_id, wait_final

METRICS_TOKEN = "metrics-" + "y" * 24
FAILS = {
    "key": "enrich",
    "name": "Enrich the lead",
    "type": "test_flaky",
    "config": {"succeed_on_attempt": 5, "retryable": False},
    "continue_on_error": True,
}
SAY = {"key": "say", "type": "log", "config": {"message": "hi"}}
BADGE = '<span class="status-badge status-with-errors"'


@pytest.fixture
def metrics_on(app_config: dict[str, object]) -> None:
    app_config["METRICS_TOKEN"] = METRICS_TOKEN


def _metric(client: FlaskClient, name: str, **labels: str) -> float:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(
        as_text=True
    )
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"{name} {labels} not in the metrics")


def _row(html: str, execution_id: int) -> str:
    start_at = html.index(f'<tr id="execution-{execution_id}"')
    return html[start_at : html.index("</tr>", start_at)]


def _ids_in(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'<tr id="execution-(\d+)"', html)}


@pytest.mark.usefixtures("metrics_on")
def test_a_run_whose_continue_on_error_step_failed_is_marked_everywhere(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given three runs: one whose continue-on-error step failed before the last step, one whose
    # last step failed so, and one clean run
    owner = user_id(app, "alice@example.com")
    failed_first = make_workflow(app, owner, {"name": "Failed first", "steps": [FAILS, SAY]})
    failed_last = make_workflow(app, owner, {"name": "Failed last", "steps": [SAY, FAILS]})
    clean = make_workflow(app, owner, {"name": "Clean", "steps": [SAY]})
    user_client.get("/healthz")  # the first request starts the embedded worker
    runs = [start(app, failed_first), start(app, failed_last), start(app, clean)]
    with_errors, also_with_errors, clean_run = runs

    # When the worker has run them
    assert wait_final(app, runs) == ["completed"] * 3

    # Then the list marks the two runs with errors, and only them
    listing = user_client.get("/executions").get_data(as_text=True)
    for marked in (with_errors, also_with_errors):
        row = _row(listing, marked)
        assert '<span class="status-badge status-completed">Completed</span>' in row
        assert BADGE in row and ">with errors</span>" in row
    assert BADGE not in _row(listing, clean_run)
    assert 'value="completed-with-errors">Completed with errors</option>' in listing

    # And the status filter "Completed with errors" lists them alone (and keeps its choice)
    filtered = user_client.get("/executions?status=completed-with-errors").get_data(as_text=True)
    assert _ids_in(filtered) == {with_errors, also_with_errors}
    assert 'value="completed-with-errors" selected' in filtered
    assert _ids_in(user_client.get("/executions?status=completed").get_data(as_text=True)) == set(
        runs
    )

    # And the execution page says which step failed while the run went on
    page = user_client.get(f"/executions/{with_errors}").get_data(as_text=True)
    assert BADGE in page
    assert "Completed with errors: Enrich the lead failed and the run went on" in page
    clean_page = user_client.get(f"/executions/{clean_run}").get_data(as_text=True)
    assert BADGE not in clean_page and "Completed with errors" not in clean_page

    # And the API carries has_errors on each execution, and filters by it
    api = Api(app.test_client(), issue_token(app))
    shown = api.get(f"/workflows/executions/{with_errors}").get_json()
    assert (shown["status"], shown["has_errors"]) == ("completed", True)
    assert [s["status"] for s in shown["steps"]] == ["failed", "completed"]
    assert api.get(f"/workflows/executions/{clean_run}").get_json()["has_errors"] is False
    listed: dict[str, Any] = api.get(
        "/workflows/executions/history", status="completed", has_errors="true"
    ).get_json()
    assert {item["id"] for item in listed["items"]} == {with_errors, also_with_errors}
    assert all(item["has_errors"] for item in listed["items"])
    bad = api.get("/workflows/executions/history", has_errors="maybe")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "has_errors"

    # And the metrics count them apart (they are also among the completed)
    assert _metric(user_client, "stepline_executions_completed_with_errors") == 2
    assert _metric(user_client, "stepline_executions_finished", status="completed") == 3


def test_the_openapi_document_describes_has_errors(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    summary = document["components"]["schemas"]["ExecutionSummary"]
    assert "continue on error" in summary["properties"]["has_errors"]["description"]
    assert "has_errors" in summary["required"]
    history = document["paths"]["/api/v1/executions"]["get"]
    assert "has_errors" in {parameter["name"] for parameter in history["parameters"]}
