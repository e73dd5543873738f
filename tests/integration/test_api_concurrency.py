"""Concurrent writers through the API: a workflow's version is its ETag, If-Match refuses a stale
PUT or DELETE (412), and ids are never handed out twice (SQLite included)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api, error_of, issue_token

FLOW = {"name": "Orders", "steps": [{"key": "say", "type": "log", "config": {"message": "hi"}}]}


@pytest.fixture
def alice(app: Flask, client: FlaskClient) -> Api:
    return Api(client, issue_token(app, name="deploy"))


def _put(api: Api, workflow_id: int, body: dict[str, Any], if_match: str | None) -> Any:
    headers = api.headers({"If-Match": if_match} if if_match else {})
    return api.client.put(f"/api/v1/workflows/{workflow_id}", json=body, headers=headers)


def test_every_workflow_answer_carries_its_version_as_etag(alice: Api) -> None:
    created = alice.post("/workflows", FLOW)
    workflow_id = created.get_json()["id"]
    assert created.headers["ETag"] == '"1"'

    assert alice.get(f"/workflows/{workflow_id}").headers["ETag"] == '"1"'
    saved = _put(alice, workflow_id, {**FLOW, "name": "Orders v2"}, '"1"')
    assert saved.status_code == 200 and saved.headers["ETag"] == '"2"'
    assert alice.post(f"/workflows/{workflow_id}/enable").headers["ETag"] == '"2"'


def test_a_put_based_on_a_stale_version_is_refused_and_overwrites_nothing(alice: Api) -> None:
    # Given a workflow at version 1, read by two scripts, and saved by the first (version 2)
    workflow_id = alice.create(FLOW)["id"]
    first = _put(alice, workflow_id, {**FLOW, "name": "First"}, '"1"')
    assert first.status_code == 200

    # When the second saves with the ETag it read
    second = _put(alice, workflow_id, {**FLOW, "name": "Second"}, '"1"')

    # Then it is 412 in the API's error shape, naming the current version and who saved it
    assert second.status_code == 412
    error = error_of(second)
    assert error["code"] == "precondition_failed"
    assert "(version 2)" in error["message"]
    assert "the API (token “deploy”)" in error["message"]
    assert second.headers["ETag"] == '"2"'
    # And the first save stands
    shown = alice.get(f"/workflows/{workflow_id}").get_json()
    assert shown["name"] == "First" and shown["version"] == 2
    # And with the current ETag (or none, or `*`) the save goes through
    assert _put(alice, workflow_id, {**FLOW, "name": "Third"}, '"2"').status_code == 200
    assert _put(alice, workflow_id, {**FLOW, "name": "Fourth"}, "*").status_code == 200
    assert _put(alice, workflow_id, {**FLOW, "name": "Fifth"}, None).status_code == 200
    # And a weak or unreadable tag never matches
    assert _put(alice, workflow_id, FLOW, 'W/"5"').status_code == 412
    assert _put(alice, workflow_id, FLOW, '"five"').status_code == 412


def test_a_delete_based_on_a_stale_version_is_refused(alice: Api) -> None:
    workflow_id = alice.create(FLOW)["id"]
    assert _put(alice, workflow_id, {**FLOW, "name": "Changed"}, None).status_code == 200

    stale = alice.client.delete(
        f"/api/v1/workflows/{workflow_id}", headers=alice.headers({"If-Match": '"1"'})
    )

    assert stale.status_code == 412
    assert error_of(stale)["code"] == "precondition_failed"
    assert alice.get(f"/workflows/{workflow_id}").status_code == 200
    current = alice.client.delete(
        f"/api/v1/workflows/{workflow_id}", headers=alice.headers({"If-Match": '"2"'})
    )
    assert current.status_code == 204
    assert alice.get(f"/workflows/{workflow_id}").status_code == 404


def test_a_deleted_objects_id_is_never_given_to_a_new_one(
    alice: Api, app: Flask, client: FlaskClient
) -> None:
    # Given the newest workflow, its execution and a token, deleted
    workflow = alice.create(FLOW, enable=True)
    execution_id = alice.trigger(workflow["id"])
    alice.wait(execution_id)
    token = alice.post("/tokens", {"name": "temp"}).get_json()
    assert alice.delete(f"/workflows/{workflow['id']}").status_code == 204
    assert alice.delete(f"/tokens/{token['id']}").status_code == 204

    # When new ones are created
    again = alice.create(FLOW, enable=True)
    rerun = alice.trigger(again["id"])
    other_token = alice.post("/tokens", {"name": "temp"}).get_json()

    # Then none of them takes an id that was used before (SQLite reused them before 0012)
    assert again["id"] > workflow["id"]
    assert rerun > execution_id
    assert other_token["id"] > token["id"]
    assert alice.get(f"/workflows/executions/{execution_id}").status_code == 404


def test_a_get_body_sent_back_after_another_save_is_a_412_too(alice: Api) -> None:
    # Given a script that read the workflow (version 1), and a save by someone else meanwhile
    workflow_id = alice.create(FLOW)["id"]
    read = alice.get(f"/workflows/{workflow_id}").get_json()
    assert _put(alice, workflow_id, {**FLOW, "name": "Theirs"}, None).status_code == 200

    # When the script PUTs back what it read, changed, without If-Match
    stale = _put(alice, workflow_id, {**read, "name": "Mine"}, None)

    # Then the version it carries counts as If-Match: 412, not a read-only field's 422
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "precondition_failed"
    assert alice.get(f"/workflows/{workflow_id}").get_json()["name"] == "Theirs"
    # And the body read afresh saves
    fresh = alice.get(f"/workflows/{workflow_id}").get_json()
    assert _put(alice, workflow_id, {**fresh, "name": "Mine"}, None).status_code == 200
