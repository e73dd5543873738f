"""Parent and child runs link to each other (execution pages and the JSON API), the editor
offers the user's workflows to call, and a step naming another user's workflow is refused on
save, naming the field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token
from tests.conftest import PASSWORD, csrf_token
from tests.engine_harness import Engine, engine_fixture

EMAIL = "caller@example.com"


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("child-pages"))


def logged_in(engine: Engine, email: str) -> FlaskClient:
    client = engine.app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "email": email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def child_spec() -> dict[str, Any]:
    return {
        "name": "Make invoice",
        "steps": [
            {"key": "make", "type": "transform", "config": {"fields": {"n": "{{ trigger.n }}"}}}
        ],
    }


def parent_spec(child_id: int) -> dict[str, Any]:
    return {
        "name": "Orders",
        "steps": [
            {
                "key": "invoice",
                "name": "Invoice it",
                "type": "run_workflow",
                "config": {
                    "workflow_id": child_id,
                    "data": {"n": "{{ trigger.n }}"},
                    "wait": False,
                },
            }
        ],
    }


@pytest.fixture(scope="module")
def runs(engine: Engine) -> dict[str, int]:
    api = Api(engine.app.test_client(), issue_token(engine.app, EMAIL))
    child = api.create(child_spec())
    parent = api.create(parent_spec(child["id"]), enable=True)
    parent_run = api.wait(api.trigger(parent["id"], {"n": 7}))
    child_run_id = parent_run["steps"][0]["output"]["child_execution_id"]
    api.wait(child_run_id)
    return {"parent": parent_run["id"], "child": child_run_id, "child_workflow": child["id"]}


def test_the_child_run_says_which_run_and_step_called_it(
    engine: Engine, runs: dict[str, int]
) -> None:
    html = logged_in(engine, EMAIL).get(f"/executions/{runs['child']}").get_data(as_text=True)

    called_by = re.search(r'<div class="called-by">(.*?)</div>', html, re.S)
    assert called_by, html
    text = re.sub(r"<[^>]+>", "", called_by.group(1))
    assert " ".join(text.split()) == (
        f"Called by“Orders” run #{runs['parent']} (step “Invoice it”) Completed"
    )
    assert f'href="/executions/{runs["parent"]}"' in called_by.group(1)


def test_the_parents_step_links_to_the_run_it_started(engine: Engine, runs: dict[str, int]) -> None:
    html = logged_in(engine, EMAIL).get(f"/executions/{runs['parent']}").get_data(as_text=True)

    started = re.search(r'<p class="step-child">(.*?)</p>', html, re.S)
    assert started, html
    assert f'href="/executions/{runs["child"]}">run #{runs["child"]}</a>' in started.group(1)
    assert "of “Make invoice”" in started.group(1)


def test_the_api_links_parent_and_child(engine: Engine, runs: dict[str, int]) -> None:
    api = Api(engine.app.test_client(), issue_token(engine.app, EMAIL))

    child = api.get(f"/executions/{runs['child']}").get_json()
    parent = api.get(f"/executions/{runs['parent']}").get_json()

    assert (child["parent_execution_id"], child["depth"]) == (runs["parent"], 1)
    assert child["trigger_type"] == "workflow"
    assert (parent["parent_execution_id"], parent["depth"]) == (None, 0)
    assert parent["steps"][0]["output"]["child_execution_id"] == runs["child"]
    listed = api.get(f"/workflows/{runs['child_workflow']}/executions").get_json()["items"]
    assert [(r["id"], r["parent_execution_id"]) for r in listed] == [
        (runs["child"], runs["parent"])
    ]


def test_another_users_workflow_is_refused_on_save_naming_the_field(
    engine: Engine, runs: dict[str, int]
) -> None:
    stranger = Api(engine.app.test_client(), issue_token(engine.app, "stranger@example.com"))

    response = stranger.post("/workflows", parent_spec(runs["child_workflow"]))

    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == "steps.0.config.workflow_id"
    assert error["message"] == (
        f"Workflow {runs['child_workflow']} does not exist or is not yours."
    )


def test_the_editor_offers_the_users_workflows_to_call(
    engine: Engine, runs: dict[str, int]
) -> None:
    api = Api(engine.app.test_client(), issue_token(engine.app, EMAIL))
    parent_id = next(
        w["id"] for w in api.get("/workflows").get_json()["items"] if w["name"] == "Orders"
    )
    client = logged_in(engine, EMAIL)

    html = client.get(f"/workflows/{parent_id}?step=invoice").get_data(as_text=True)

    select = re.search(r'<select[^>]*name="config.workflow_id"[^>]*>(.*?)</select>', html, re.S)
    assert select, html
    options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', select.group(1))
    assert options == [
        ("", "", "Choose a workflow"),
        (str(runs["child_workflow"]), " selected", "Make invoice (not active)"),
        (str(parent_id), "", "Orders (this workflow)"),
    ]


def test_a_step_waiting_for_its_child_says_so_on_the_page_and_in_the_api(engine: Engine) -> None:
    api = Api(engine.app.test_client(), issue_token(engine.app, EMAIL))
    slow = api.create(
        {
            "name": "Slow invoice",
            "steps": [
                {"key": "later", "type": "delay", "config": {"amount": 1, "unit": "hours"}},
                {"key": "then", "type": "transform", "config": {"fields": {"n": 1}}},
            ],
        }
    )
    spec = parent_spec(slow["id"])
    spec["steps"][0]["config"]["wait"] = True
    run_id = api.trigger(api.create(spec, enable=True)["id"], {"n": 1})

    def waiting() -> bool:
        return engine.steps(run_id)[0].status == "waiting"

    engine.wait_for(waiting)
    body = api.get(f"/executions/{run_id}").get_json()
    html = logged_in(engine, EMAIL).get(f"/executions/{run_id}").get_data(as_text=True)

    (called,) = body["steps"]
    assert body["status"] == "waiting"
    assert called["status"] == "waiting"
    assert called["output"]["waiting_for"] == "child"
    child_id = called["output"]["child_execution_id"]
    assert [a["ended_by"] for a in called["attempt_log"]] == ["wait"]
    started = re.search(r'<p class="step-child">(.*?)</p>', html, re.S)
    assert started, html
    assert f"run #{child_id}</a>" in started.group(1)
    assert "this step waits for it to end" in started.group(1)
