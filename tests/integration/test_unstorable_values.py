"""One rule for values no database stores (NaN, ±Infinity, numbers beyond a float's range,
U+0000, unpaired surrogates): refused where they enter, naming their path.

A webhook body or an API body holding one answers 400 naming its path and stores nothing
(senders never retry what can never be stored). A step whose output holds one fails, naming the
field, in the same pass and without a retry: see test_unstorable_outputs.py for the real worker.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Execution, Trigger, Workflow
from app.services.webhooks import receiver
from tests.api_client import Api, issue_token
from tests.hooks_support import make_hook

# Raw bytes, as a sender writes them (json.dumps could not write most of these).
UNSTORABLE = [
    (b'{"a": 1, "b": 1e400}', "body.b", "1e400"),
    (b'{"a": NaN}', "body.a", "NaN"),
    (b'{"a": -Infinity}', "body.a", "-Infinity"),
    (b'{"a": "\\ud800"}', "body.a", "unpaired surrogate"),
    (b'{"a": ["ok", {"n": "x\\u0000y"}]}', "body.a.1.n", "NUL"),
]


def _count(app: Flask, model: type[Execution] | type[Workflow]) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("body", "path", "named"), UNSTORABLE, ids=lambda v: str(v)[:24])
def test_a_webhook_body_no_database_stores_is_400_naming_its_path(
    app: Flask, client: FlaskClient, body: bytes, path: str, named: str
) -> None:
    # Given an enabled webhook workflow whose editor listens on the test URL
    hook = make_hook(app)
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        receiver.listen(db.session(), workflow)

    # When a sender posts JSON holding a value no database stores, to the URL and the test URL
    response = client.post(hook.url, data=body, content_type="application/json")
    captured = client.post(hook.test_url, data=body, content_type="application/json")

    # Then both answer 400 naming the path (never 503: a retry could never succeed)
    for answer in (response, captured):
        assert answer.status_code == 400, answer.get_data(as_text=True)
        error = answer.get_json()["error"]
        assert error["code"] == "bad_request"
        assert error["field"] == path
        assert f"`{path}`" in error["message"] and named in error["message"]
        assert "cannot be stored" in error["message"]
    # And nothing was stored: no execution, no sample data
    assert _count(app, Execution) == 0
    with app.app_context():
        trigger = db.session.scalars(select(Trigger)).one()
        assert not trigger.sample_data


API_BODIES = [
    (b'{"name": NaN, "steps": []}', "name", "NaN"),
    (b'{"name": "n", "trigger": {"sample_data": {"b": 1e400}}}', "trigger.sample_data.b", "1e400"),
    (b'{"name": "n", "description": "\\ud800"}', "description", "unpaired surrogate"),
    (b'{"name": "n", "trigger": {"config": {"\\u0000": 1}}}', "trigger.config.\\u0000", "NUL"),
    (b'{"name": -Infinity}', "name", "-Infinity"),
]


@pytest.mark.parametrize(("body", "path", "named"), API_BODIES, ids=lambda v: str(v)[:24])
def test_an_api_body_no_database_stores_is_400_naming_its_path(
    app: Flask, client: FlaskClient, body: bytes, path: str, named: str
) -> None:
    # Given a script with a token
    api = Api(client, issue_token(app))

    # When it posts a workflow holding a value no database stores
    response = client.post(
        "/api/v1/workflows", data=body, headers=api.headers({"Content-Type": "application/json"})
    )

    # Then the answer is 400 naming the path, and nothing was created
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_json", path)
    assert named in error["message"] and "cannot be stored" in error["message"]
    assert _count(app, Workflow) == 0


@pytest.mark.parametrize(("body", "path", "named"), UNSTORABLE, ids=lambda v: str(v)[:24])
def test_api_trigger_data_no_database_stores_is_400_and_starts_nothing(
    app: Flask, client: FlaskClient, body: bytes, path: str, named: str
) -> None:
    # Given an enabled workflow
    api = Api(client, issue_token(app))
    workflow = api.create({"name": "n", "steps": []}, enable=True)

    # When a script triggers it with such data
    response = client.post(
        f"/api/v1/workflows/{workflow['id']}/trigger",
        data=body,
        headers=api.headers({"Content-Type": "application/json"}),
    )

    # Then 400 names the path in the document sent (which is the trigger data's body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["field"] == path.removeprefix("body.")
    assert named in error["message"]
    assert _count(app, Execution) == 0
