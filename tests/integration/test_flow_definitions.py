"""Nested definitions through the API, export and import, History: loops hold steps, paths
steps hold branches; each rule of the tree is a 422 naming the field by its full path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.engine.redaction import REDACTED
from app.extensions import container, db
from app.models import Action
from app.services.accounts import users
from app.services.workflows import crud, drafts, tree, versions
from tests.api_client import Api, error_of, issue_token
from tests.integration.test_api_tenancy import google_connection

CONDITION = {"match": "all", "conditions": [{"left": "{{ loop.item.kind }}", "right": "vip"}]}
# As stored and read back: the operator's default filled in.
STORED_CONDITION = {
    "match": "all",
    "conditions": [{"left": "{{ loop.item.kind }}", "operator": "equals", "right": "vip"}],
}


def step(key: str, message: str = "hi") -> dict[str, Any]:
    return {"key": key, "type": "log", "config": {"message": message}}


def notify(key: str, token: str = "tok-secret-part") -> dict[str, Any]:
    config = {"url": "https://api.example.com/n", "auth_type": "bearer", "auth_token": token}
    return {"key": key, "type": "http_request", "config": config}


def paths(key: str, *branches: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "type": "paths", "config": {"mode": "first"}, "branches": list(branches)}


def branch(key: str | None, name: str, *steps: dict[str, Any]) -> dict[str, Any]:
    found = {"name": name, "condition": CONDITION, "steps": list(steps)}
    return {"key": key, **found} if key else found


def loop(key: str, *steps: dict[str, Any], max_items: int = 50) -> dict[str, Any]:
    config = {"items": "{{ trigger.items }}", "max_items": max_items}
    return {"key": key, "type": "loop", "config": config, "steps": list(steps)}


NESTED: dict[str, Any] = {
    "name": "Orders by kind",
    "description": "",
    "trigger": {"type": "manual", "config": {}, "sample_data": {"items": [{"kind": "vip"}]}},
    "steps": [
        step("start", "{{ trigger.items | length }} items"),
        loop(
            "each",
            {
                "key": "shape",
                "type": "transform",
                "config": {"fields": {"kind": "{{ loop.item.kind }}"}},
            },
            {
                **paths(
                    "route",
                    branch("b", "VIP", notify("tell_vip"), step("vip_log", "{{ steps.shape }}")),
                    branch("c", "Others", step("other_log")),
                ),
                "otherwise": {"name": "Nobody", "steps": [step("nobody")]},
            },
        ),
        step("done", "{{ steps.each.count }}"),
    ],
    "run_key_template": None,
}


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app))


def definition(body: dict[str, Any]) -> dict[str, Any]:
    """What of GET's body is the definition (PUT's body without the read-only fields)."""
    return {k: body[k] for k in ("name", "description", "trigger", "steps", "run_key_template")}


def test_a_nested_workflow_round_trips_through_create_get_put(app: Flask, alice: Api) -> None:
    # When alice creates a workflow with a loop holding a paths step
    created = alice.post("/workflows", NESTED)

    # Then it is stored, and GET answers the same tree (secrets masked, names filled in)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["step_count"] == 9
    read = alice.get(f"/workflows/{body['id']}").get_json()
    shown = definition(read)
    assert [s["key"] for s in shown["steps"]] == ["start", "each", "done"]
    route = shown["steps"][1]["steps"][1]
    assert [b["key"] for b in route["branches"]] == ["b", "c"]
    assert route["branches"][0]["steps"][0]["config"]["auth_token"] == REDACTED
    assert route["otherwise"]["name"] == "Nobody"
    assert [s["key"] for s in route["otherwise"]["steps"]] == ["nobody"]
    # A plain step holds no lists at all (not even null ones), as before nesting
    assert set(shown["steps"][0]) == {
        "key",
        "type",
        "name",
        "config",
        "retry",
        "enabled",
        "continue_on_error",
        "run_if",
    }

    # And a PUT of GET's body changes nothing but the version, the secret kept
    put = alice.put(f"/workflows/{body['id']}", read)
    assert put.status_code == 200, put.get_json()
    again = alice.get(f"/workflows/{body['id']}").get_json()
    assert definition(again) == shown and again["version"] == 2
    with app.app_context():
        rows = db.session.scalars(
            select(Action).where(Action.workflow_id == body["id"]).order_by(Action.position)
        ).all()
        assert [(a.key, a.parent_key, a.branch) for a in rows] == [
            ("start", None, None),
            ("each", None, None),
            ("shape", "each", None),
            ("route", "each", None),
            ("tell_vip", "route", "b"),
            ("vip_log", "route", "b"),
            ("other_log", "route", "c"),
            ("nobody", "route", "otherwise"),
            ("done", None, None),
        ]
        secret = next(a for a in rows if a.key == "tell_vip").config["auth_token"]
        assert secret != "tok-secret-part"
        assert container().secrets.decrypt(secret) == "tok-secret-part"
        assert rows[3].flow == {
            "branches": [
                {"key": "b", "name": "VIP", "condition": STORED_CONDITION},
                {"key": "c", "name": "Others", "condition": STORED_CONDITION},
            ],
            "otherwise": {"name": "Nobody"},
        }


def test_the_snapshot_nests_what_an_execution_runs(app: Flask, alice: Api) -> None:
    created = alice.create(NESTED)

    with app.app_context():
        workflow = crud.get_workflow(db.session(), created["id"], created_owner(app))
        actions = crud.snapshot(workflow)["actions"]

    assert [a["key"] for a in actions] == ["start", "each", "done"]
    route = actions[1]["steps"][1]
    assert set(route) >= {"branches", "otherwise"} and "steps" not in route
    assert route["branches"][1] == {
        "key": "c",
        "name": "Others",
        "condition": STORED_CONDITION,
        "steps": [
            {
                "key": "other_log",
                "type": "log",
                "name": "Log",
                "config": {"message": "hi"},
                "retry": {},
                "enabled": True,
                "continue_on_error": False,
                "run_if": None,
            }
        ],
    }
    assert route["otherwise"]["name"] == "Nobody"
    assert "branches" not in actions[0] and "steps" not in actions[0]


def created_owner(app: Flask) -> int:
    with app.app_context():
        user = users.find_by_email(db.session(), "alice@example.com")
        assert user is not None
        return user.id


def test_export_leaves_nested_secrets_out_and_imports_the_same_tree(alice: Api) -> None:
    created = alice.create(NESTED)

    exported = alice.get(f"/workflows/{created['id']}/export")

    assert exported.status_code == 200
    assert "secret-part" not in exported.get_data(as_text=True)
    document = exported.get_json()
    route = document["workflow"]["steps"][1]["steps"][1]
    assert "auth_token" not in route["branches"][0]["steps"][0]["config"]
    # Given the secret again, the import is the same tree
    route["branches"][0]["steps"][0]["config"]["auth_token"] = "another"
    imported = alice.post("/workflows/import", document)
    assert imported.status_code == 201, imported.get_json()
    copy_ = alice.get(f"/workflows/{imported.get_json()['id']}").get_json()
    assert definition(copy_) == definition(alice.get(f"/workflows/{created['id']}").get_json())


def test_an_exported_file_without_its_nested_secret_becomes_a_draft(app: Flask) -> None:
    # Given an export whose nested HTTP step lacks its (required with bearer) token
    spec = copy.deepcopy(NESTED)
    token_step = spec["steps"][1]["steps"][1]["branches"][0]["steps"][0]
    del token_step["config"]["auth_token"]
    issue_token(app)
    with app.app_context():
        owner = created_owner(app)
        session = db.session()
        workflow, complete = versions.import_json(
            session, owner, json.dumps(spec), container().secrets, container().handlers
        )
        # Then the workflow is created empty, and the draft holds the whole tree, keyed
        draft = drafts.load(session, workflow)

    assert complete is False
    assert draft.steps[1]["steps"][1]["branches"][1]["key"] == "c"
    assert draft.steps[1]["steps"][1]["branches"][0]["steps"][0]["key"] == "tell_vip"


def test_an_older_flat_export_imports_unchanged(alice: Api) -> None:
    document = {
        "format": "stepline.workflow/v1",
        "exported_at": "2026-11-01T10:00:00Z",
        "workflow": {
            "name": "Old",
            "description": "",
            "trigger": {"type": "manual", "config": {}, "sample_data": None},
            "steps": [
                {
                    "key": "shape",
                    "type": "transform",
                    "name": "Shape",
                    "config": {"fields": {"a": "1"}},
                    "retry": None,
                    "enabled": True,
                    "continue_on_error": False,
                },
                {"type": "log", "config": {"message": "{{ steps.shape.a }}"}},
            ],
            "run_key_template": None,
        },
    }

    imported = alice.post("/workflows/import", document)

    assert imported.status_code == 201, imported.get_json()
    body = imported.get_json()
    assert [(s["key"], s["type"]) for s in body["steps"]] == [
        ("shape", "transform"),
        ("log", "log"),
    ]
    assert all("steps" not in s and "branches" not in s for s in body["steps"])
    exported = alice.get(f"/workflows/{body['id']}/export").get_json()["workflow"]
    assert all(set(s) == set(exported["steps"][0]) for s in exported["steps"])


def branch_of(spec: dict[str, Any]) -> dict[str, Any]:
    route: dict[str, Any] = spec["steps"][1]["steps"][1]
    return route


def edit(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(NESTED)
    change(spec)
    return spec


RULES: list[tuple[Any, str]] = [
    # keys unique in the whole tree (the second use is named)
    (
        lambda s: branch_of(s)["branches"][1]["steps"].append(step("start")),
        "steps.1.steps.1.branches.1.steps.1.key",
    ),
    # branch keys unique in their paths step
    (lambda s: branch_of(s)["branches"][1].update(key="b"), "steps.1.steps.1.branches.1.key"),
    # 2 to 10 branches
    (lambda s: branch_of(s)["branches"].pop(), "steps.1.steps.1.branches"),
    (
        lambda s: branch_of(s)["branches"].extend(branch(None, f"n{i}") for i in range(9)),
        "steps.1.steps.1.branches",
    ),
    # a paths step ends its list
    (lambda s: s["steps"][1]["steps"].append(step("late")), "steps.1.steps.1.type"),
    # steps only on a loop; branches and otherwise only on paths
    (lambda s: s["steps"][0].update(steps=[]), "steps.0.steps"),
    (lambda s: s["steps"][1].update(otherwise={"steps": []}), "steps.1.otherwise"),
    (lambda s: s["steps"][0].update(branches=branch_of(s)["branches"]), "steps.0.branches"),
    # nesting at most 3 deep: a 4th container inside a loop, in a paths step, in a loop
    (
        lambda s: branch_of(s)["branches"][1]["steps"].append(loop("inner", loop("too_deep"))),
        "steps.1.steps.1.branches.1.steps.1.steps.0.type",
    ),
    # at most 200 steps in all
    (
        lambda s: s["steps"][1].update(
            steps=[step(f"s{i}") for i in range(192)] + s["steps"][1]["steps"]
        ),
        "steps",
    ),
    # a loop's max_items within STEPLINE_MAX_LOOP_ITEMS
    (lambda s: s["steps"][1]["config"].update(max_items=10_001), "steps.1.config.max_items"),
    # the usual checks, at depth
    (
        lambda s: branch_of(s)["branches"][0]["steps"][1]["config"].update(message="{{ oops"),
        "steps.1.steps.1.branches.0.steps.1.config.message",
    ),
    (
        lambda s: branch_of(s)["otherwise"]["steps"][0].update(type="nope"),
        "steps.1.steps.1.otherwise.steps.0.type",
    ),
    (
        lambda s: branch_of(s)["branches"][0]["condition"]["conditions"][0].update(left="{{ x"),
        "steps.1.steps.1.branches.0.condition.conditions.0.left",
    ),
]


@pytest.mark.parametrize(("change", "field"), RULES)
def test_each_rule_of_the_tree_is_422_naming_the_field(alice: Api, change: Any, field: str) -> None:
    response = alice.post("/workflows", edit(change))

    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert (error["code"], error["field"]) == ("validation_error", field)


def test_an_import_names_a_nested_field_inside_the_document(alice: Api) -> None:
    spec = edit(lambda s: branch_of(s)["branches"][1].update(key="b"))

    response = alice.post("/workflows/import", {"format": "stepline.workflow/v1", "workflow": spec})

    assert response.status_code == 422
    assert error_of(response)["field"] == "workflow.steps.1.steps.1.branches.1.key"


def test_missing_branch_and_step_keys_are_generated(alice: Api) -> None:
    def drop_keys(spec: dict[str, Any]) -> None:
        route = branch_of(spec)
        for b in route["branches"]:
            del b["key"]
        del route["branches"][1]["steps"][0]["key"]

    body = alice.create(edit(drop_keys))

    route = body["steps"][1]["steps"][1]
    assert [b["key"] for b in route["branches"]] == ["a", "b"]
    assert route["branches"][1]["steps"][0]["key"] == "log"


def test_history_names_a_change_inside_a_branch(app: Flask, alice: Api) -> None:
    created = alice.create(NESTED)
    changed = edit(lambda s: branch_of(s)["branches"][1]["steps"][0]["config"].update(message="x"))

    alice.put(f"/workflows/{created['id']}", changed)

    with app.app_context():
        workflow = crud.get_workflow(db.session(), created["id"], created_owner(app))
        entry = versions.history(db.session(), workflow, container().handlers)[0]
    where = tree.SEPARATOR.join(["Step 2", "step 2", "Branch c", "step 1"])
    assert [str(c) for c in entry.changes] == [f'{where} “Log” (log): config.message "hi" → "x"']


def test_the_pages_of_a_nested_workflow_answer(app: Flask, user_client: FlaskClient) -> None:
    # Given a nested workflow of the signed-in user, saved twice (History has an entry)
    api = Api(user_client, issue_token(app, "alice@example.com"))
    created = api.create(NESTED)
    api.put(f"/workflows/{created['id']}", edit(lambda s: s["steps"][0].update(name="First")))

    # Then its pages answer: the list, the editor, History, an earlier version, restore
    for path in (
        "/workflows",
        f"/workflows/{created['id']}",
        f"/workflows/{created['id']}/history",
        f"/workflows/{created['id']}/versions/1",
        f"/workflows/{created['id']}/versions/1/restore",
    ):
        assert user_client.get(path).status_code == 200, path


def test_a_saved_nested_workflow_runs_through_its_snapshot(alice: Api) -> None:
    # Given a loop over the items whose body shapes each item and routes it by kind
    spec = copy.deepcopy(NESTED)
    route = branch_of(spec)
    route["branches"][0]["steps"] = [step("vip_log", "vip {{ steps.shape.kind }}")]
    created = alice.create(spec, enable=True)

    # When it runs on two items
    execution = alice.wait(
        alice.trigger(created["id"], {"items": [{"kind": "vip"}, {"kind": "x"}]})
    )

    # Then the vip item took the first branch, the other one "otherwise", and the step after
    # the loop ran once
    assert execution["status"] == "completed", execution
    ran = [s["key"] for s in execution["steps"] if s["status"] == "completed"]
    assert ran.count("vip_log") == 1 and ran.count("nobody") == 1 and ran.count("done") == 1
    assert "other_log" not in ran


def test_a_nested_step_naming_another_users_connection_is_refused(
    app: Flask, client: FlaskClient, alice: Api
) -> None:
    # Given mallory's Google connection
    issue_token(app, "mallory@example.com")
    theirs = google_connection(app, "mallory@example.com")
    sheet = {
        "key": "append",
        "type": "sheets_append_row",
        "config": {"connection_id": theirs, "spreadsheet_id": "abc", "values": ["x"]},
    }

    # When alice names it in a step inside a branch inside the loop
    spec = edit(lambda s: branch_of(s)["branches"][1]["steps"].append(sheet))
    response = alice.post("/workflows", spec)
    imported = alice.post("/workflows/import", {"format": "stepline.workflow/v1", "workflow": spec})

    # Then both are refused, naming the nested field
    field = "steps.1.steps.1.branches.1.steps.1.config.connection_id"
    assert response.status_code == 422 and error_of(response)["field"] == field
    assert imported.status_code == 422 and error_of(imported)["field"] == f"workflow.{field}"


def test_the_api_tests_one_step_inside_a_branch(alice: Api) -> None:
    created = alice.create(NESTED)

    tested = alice.post(f"/workflows/{created['id']}/steps/other_log/test", {"trigger": {}})

    assert tested.status_code == 200, tested.get_json()
    assert tested.get_json()["status"] == "completed"
    assert alice.post(f"/workflows/{created['id']}/steps/nope/test", {}).status_code == 404
