"""A waiting run everywhere it shows: the list (badge, filter, pace, what it waits for), the
figures, the live region, Prometheus, the API (filter, `waiting`), run-key search and
`flask executions tail`. The runs are put in the state the engine leaves a waiting run in
(tests/waiting_support.py); the engine's own waits are tested with the engine."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app.models.base import utcnow
from app.services.executions.waiting import clock_text
from tests.api_client import Api, issue_token
from tests.dashboard_support import HTMX, make_workflow, start, user_id
from tests.waiting_support import TWO_STEPS, force_waiting

METRICS_TOKEN = "metrics-" + "w" * 24


def _row(html: str, execution_id: int) -> str:
    found = re.search(rf'<tr id="execution-{execution_id}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"no row for execution {execution_id}"
    return found.group(0)


def _runs(app: Flask, spec: dict[str, Any] = TWO_STEPS, **data: object) -> tuple[int, int]:
    """A waiting run and a pending one of one workflow of alice's."""
    workflow = make_workflow(app, user_id(app, "alice@example.com"), spec)
    waiting = start(app, workflow, dict(data), run=False)
    pending = start(app, workflow, dict(data), run=False)
    return waiting, pending


def test_the_list_shows_filters_and_counts_a_waiting_run_and_polls_it_slowly(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run waiting for a call and a pending one
    waiting, pending = _runs(app)
    _, until = force_waiting(app, waiting)

    # When alice opens the list
    html = unescape(user_client.get("/executions").get_data(as_text=True))

    # Then the waiting row has its own badge and says for what and until when; it is live
    # (refreshed by the poll) but marked waiting, so the page does not poll fast for it
    row = _row(html, waiting)
    assert '<span class="status-badge status-waiting">Waiting</span>' in row
    assert f"for a call to its resume URL · until {clock_text(until, utcnow())}" in row
    assert " data-live" in row and " data-waiting" in row
    assert " data-waiting" not in _row(html, pending) and " data-live" in _row(html, pending)
    # and the status filter offers it
    assert '<option value="waiting">Waiting</option>' in html

    # When she filters on it
    filtered = user_client.get("/executions?status=waiting").get_data(as_text=True)

    # Then only the waiting run is listed, the option kept
    assert f'id="execution-{waiting}"' in filtered and f'id="execution-{pending}"' not in filtered
    assert '<option value="waiting" selected>Waiting</option>' in filtered

    # And a row's own fragment keeps polling a waiting run, every 5 s rather than every second
    fragment = user_client.get(f"/executions/{waiting}/row", headers=HTMX)
    assert fragment.status_code == 200  # not 286: a waiting run is not final
    assert 'hx-trigger="every 5s"' in fragment.get_data(as_text=True)

    # And the figures count it in a column of its own, and the chart draws it
    stats = user_client.get("/executions/stats", headers=HTMX).get_data(as_text=True)
    header = stats.split("<thead>")[1].split("</thead>")[0]
    assert re.findall(r"swatch-(\w+)", header) == [
        "completed",
        "failed",
        "cancelled",
        "running",
        "waiting",
        "pending",
    ]
    day = stats.split("<tbody>")[1].split("</tr>")[0]
    cells = re.findall(r"<td>(?:<a [^>]+>)?(?:<span class=\"muted\">)?(\d+)", day)
    assert cells == ["0", "0", "0", "0", "1", "1", "2"]
    assert 'href="/executions?status=waiting&amp;since=' in stats
    assert stats.count('<rect class="bar bar-waiting"') == 1

    # And the list's one poll answers the waiting row's state
    live = user_client.get(f"/executions/live?live={waiting}", headers=HTMX).get_data(as_text=True)
    assert f'<tr id="execution-{waiting}"' in live and " data-waiting" in live


def test_the_execution_page_says_what_a_run_waits_for_and_polls_slowly(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a run whose second step has waited for a call for 5 minutes, for 2 days more
    waiting, _ = _runs(app)
    since = utcnow() - timedelta(minutes=5)
    until = utcnow() + timedelta(days=2, hours=1)
    force_waiting(app, waiting, since=since, until=until)

    # When alice opens its page
    html = unescape(user_client.get(f"/executions/{waiting}").get_data(as_text=True))

    # Then it says in words what the run waits for, since when and until when, and where
    now = utcnow()
    sentence = (
        f"Waiting for a call to its resume URL since {clock_text(since, now)}, "
        f"until {clock_text(until, now)} (in 2 days)."
    )
    summary = html.split('<div class="execution-waiting"')[1].split("</div>")[0]
    assert sentence in summary
    assert "At step 2 · Wait here" in re.sub(r"<[^>]+>", "", summary)
    # and the waiting step is marked, with the same words and its attempt ended by the wait
    step = re.search(r'<li id="step-\d+" class="step step-waiting"[^>]*>.*?</li>', html, re.S)
    assert step and "Wait here" in step.group(0) and sentence in step.group(0)
    assert "suspended to wait (not counted against its retries)" in step.group(0)
    # and it can be cancelled; the page polls every 5 s, not every second
    assert "Cancel execution" in html
    assert 'hx-trigger="every 5s"' in html and 'hx-trigger="every 1s"' not in html
    status = user_client.get(f"/executions/{waiting}/status", headers=HTMX)
    assert status.status_code == 200


@pytest.mark.parametrize(
    ("kind", "extra", "words"),
    [
        ("approval", {}, "Waiting for a decision on its approval page since"),
        ("child", {"child": {"execution_id": 77}}, "Waiting for child run #77 to end since"),
    ],
)
def test_other_waits_are_told_in_their_words_without_resume_now(
    app: Flask, user_client: FlaskClient, kind: str, extra: dict[str, object], words: str
) -> None:
    # Given a run waiting for a decision, or for a child run
    waiting, _ = _runs(app)
    force_waiting(app, waiting, kind=kind, extra=extra)

    # When alice opens its page
    html = unescape(user_client.get(f"/executions/{waiting}").get_data(as_text=True))

    # Then it says what it waits for, and offers no "Resume now" (that is for calls)
    assert words in html
    assert "Resume now" not in html


@pytest.fixture
def metrics_on(app_config: dict[str, object]) -> None:
    app_config["METRICS_TOKEN"] = METRICS_TOKEN


@pytest.mark.usefixtures("metrics_on")
def test_metrics_count_waiting_runs_their_steps_and_the_waits_past_their_deadline(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given two waiting runs, one of them past its deadline, and a pending one
    first, pending = _runs(app)
    second, _ = _runs(app)
    force_waiting(app, first)
    force_waiting(
        app, second, since=utcnow() - timedelta(hours=2), until=utcnow() - timedelta(minutes=1)
    )

    # When Prometheus scrapes
    response = user_client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    # Then the waiting runs, their steps by action type and the overdue wait are counted
    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }
    assert samples[("stepline_executions_waiting", ())] == 2
    assert samples[("stepline_executions_live", (("status", "waiting"),))] == 2
    assert samples[("stepline_executions_live", (("status", "pending"),))] == 2
    assert samples[("stepline_steps_waiting", (("type", "log"),))] == 2
    assert samples[("stepline_waits_overdue", ())] == 1
    assert pending  # (left pending: not counted as waiting)


def test_the_api_filters_on_waiting_and_says_what_a_run_waits_for(
    app: Flask, client: FlaskClient
) -> None:
    # Given alice's waiting run (with a run key) and a pending one
    api = Api(client, issue_token(app))
    spec = {**TWO_STEPS, "run_key_template": "{{ trigger.order }}"}
    waiting, pending = _runs(app, spec, order="A-17")
    since, until = force_waiting(app, waiting)

    # When her script lists the waiting executions
    listed = api.get("/executions", status="waiting")

    # Then only that run is listed, with what it waits for
    assert listed.status_code == 200
    (item,) = listed.get_json()["items"]
    assert item["id"] == waiting and item["status"] == "waiting"
    assert item["waiting"]["step"] == "reply" and item["waiting"]["for"] == "call"
    assert item["waiting"]["since"].startswith(since.strftime("%Y-%m-%dT%H:%M:%S"))
    assert item["waiting"]["until"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))

    # And one execution carries it too; a run that does not wait has `waiting: null`
    shown = api.get(f"/executions/{waiting}").get_json()
    assert shown["waiting"] == item["waiting"]
    assert shown["steps"][1]["status"] == "waiting"
    assert shown["steps"][1]["attempt_log"][0]["ended_by"] == "wait"
    assert api.get(f"/executions/{pending}").get_json()["waiting"] is None

    # And a run-key search finds the waiting run with the others of that key
    found = api.get("/executions", run_key="A-17", status=["waiting", "pending"]).get_json()
    assert sorted(i["id"] for i in found["items"]) == sorted([waiting, pending])

    # And an unknown status is a 400 that lists `waiting` among the known ones
    refused = api.get("/executions", status="asleep")
    assert refused.status_code == 400 and "waiting" in refused.get_json()["error"]["message"]

    # And the OpenAPI document lists `waiting` in the status filter and the status enum
    document = client.get("/api/v1/openapi.json").get_json()
    history = document["paths"]["/api/v1/executions"]["get"]["parameters"]
    status_param = next(p for p in history if p["name"] == "status")
    assert "waiting" in status_param["schema"]["items"]["enum"]
    summary = document["components"]["schemas"]["ExecutionSummary"]["properties"]
    assert "waiting" in str(summary["status"]) or "waiting" in str(document["components"])
    assert "for" in document["components"]["schemas"]["WaitingOut"]["properties"]


def test_flask_executions_tail_filters_on_waiting_and_says_for_what(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a waiting run and a pending one
    waiting, pending = _runs(app)
    force_waiting(app, waiting)

    # When the owner tails the waiting executions from a shell
    result = app.test_cli_runner().invoke(
        args=["executions", "tail", "--user", "alice@example.com", "--status", "waiting"]
    )

    # Then only the waiting run is printed, with what it waits for
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{waiting}\twaiting\t")
    assert "Waiting for a call to its resume URL since" in lines[0]
    assert str(pending) not in lines[0].split("\t")[0]

    # And an unknown status is refused, naming the known ones
    refused = app.test_cli_runner().invoke(
        args=["executions", "tail", "--user", "alice@example.com", "--status", "asleep"]
    )
    assert refused.exit_code == 2 and "waiting" in refused.output
