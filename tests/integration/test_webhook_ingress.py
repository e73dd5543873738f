"""Webhook ingress: the request becomes trigger data; wrong ids, methods, bodies are refused and
start nothing; the URL rotates; immediate and wait modes."""

from __future__ import annotations

import io
import json

from flask import Flask
from flask.testing import FlaskClient

from app.extensions import container, db
from app.models import Workflow
from app.services.webhooks import receiver
from app.services.workflows import crud
from tests.hooks_support import close_app, executions_of, make_hook, trigger_row, wait_final


def test_a_delivery_runs_the_workflow_with_the_request_as_trigger_data(
    app: Flask, client: FlaskClient
) -> None:
    # Given an enabled webhook workflow whose step echoes the body and path
    hook = make_hook(app)

    # When a sender posts JSON with a query string, headers, a sub-path and credentials
    response = client.post(
        f"{hook.url}/orders?source=shop&tag=a&tag=b",
        json={"order": {"id": 7, "total": "{{ 7*7 }}"}},
        headers={"X-Event": "order.created", "Authorization": "Bearer s3cret", "Cookie": "a=b"},
    )

    # Then it is answered 202 with the id of an execution that was stored before the answer
    assert response.status_code == 202
    execution_id = response.get_json()["execution_id"]
    (execution,) = wait_final(app, hook.workflow_id)
    assert execution.id == execution_id
    assert execution.status == "completed"
    assert execution.trigger_type == "webhook"
    # and the trigger data holds method, path, query, headers (no credentials), body, time
    data = execution.trigger_data
    assert data["method"] == "POST"
    assert data["path"] == "/orders"
    assert data["query"] == {"source": "shop", "tag": ["a", "b"]}
    assert data["headers"]["x-event"] == "order.created"
    assert "authorization" not in data["headers"] and "cookie" not in data["headers"]
    assert data["body"] == {"order": {"id": 7, "total": "{{ 7*7 }}"}}
    assert data["received_at"].startswith(execution.created_at.date().isoformat())
    assert "s3cret" not in json.dumps(data)


def test_form_and_text_bodies_become_data(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app)

    form = client.post(hook.url, data={"name": "Ada", "tags": ["x", "y"]})
    text = client.post(hook.url, data=b"plain words", content_type="text/plain")
    empty = client.post(hook.url)

    assert [r.status_code for r in (form, text, empty)] == [202, 202, 202]
    bodies = [e.trigger_data["body"] for e in wait_final(app, hook.workflow_id, 3)]
    assert bodies == [{"name": "Ada", "tags": ["x", "y"]}, "plain words", None]


def test_a_wrong_altered_or_missing_id_is_404_and_starts_nothing(
    app: Flask, client: FlaskClient
) -> None:
    # Given a webhook
    hook = make_hook(app)
    altered = hook.token[:-1] + ("A" if hook.token[-1] != "A" else "B")

    # When requests reach ids that are not its own
    answers = [
        client.post(f"/hooks/{altered}", json={}),
        client.post("/hooks/" + "x" * 43, json={}),
        client.post(f"/hooks/{hook.token.upper()}", json={}),
        client.get(f"/hooks/{altered}"),
        client.options(f"/hooks/{altered}"),
        client.post("/hooks/", json={}),
    ]

    # Then every one is 404 and no execution exists
    assert [a.status_code for a in answers] == [404] * 6
    assert answers[0].get_json()["error"]["code"] == "not_found"
    assert executions_of(app, hook.workflow_id) == []


def test_the_id_is_random_and_long(app: Flask) -> None:
    tokens = {make_hook(app).token for _ in range(3)}
    assert len(tokens) == 3
    assert all(len(token) >= 43 for token in tokens)  # 256 bits in url-safe base64


def test_a_disabled_workflow_answers_404(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app)
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, False, container().handlers)

    response = client.post(hook.url, json={"a": 1})

    assert response.status_code == 404
    assert executions_of(app, hook.workflow_id) == []
    # Re-enabled, the same URL works again
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        crud.set_enabled(db.session(), workflow, True, container().handlers)
    assert client.post(hook.url, json={"a": 1}).status_code == 202


def test_rotating_the_url_kills_the_old_one_at_once(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app)
    with app.app_context():
        workflow = db.session.get(Workflow, hook.workflow_id)
        assert workflow is not None
        new_token = receiver.rotate_token(db.session(), workflow)

    old = client.post(hook.url, json={})
    new = client.post(f"/hooks/{new_token}", json={})

    assert (old.status_code, new.status_code) == (404, 202)
    assert new_token != hook.token and trigger_row(app, hook.workflow_id).webhook_token == new_token
    assert len(wait_final(app, hook.workflow_id)) == 1


def test_a_method_the_webhook_does_not_accept_is_405(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app, {"methods": ["POST", "PUT"]})

    response = client.get(hook.url)
    put = client.put(hook.url, json={"x": 1})

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, PUT"
    assert put.status_code == 202
    assert len(wait_final(app, hook.workflow_id)) == 1


def test_oversized_bodies_are_413_and_store_nothing(app_config: dict[str, object]) -> None:
    from app import create_app

    app = create_app({**app_config, "MAX_PAYLOAD_BYTES": 2000})
    try:
        client = app.test_client()
        hook = make_hook(app)

        big = client.post(hook.url, data=b"x" * 5000, content_type="text/plain")
        chunked = client.post(
            hook.url,
            input_stream=io.BytesIO(b"y" * 5000),
            content_type="text/plain",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},  # as gunicorn marks chunked input
        )
        headers_too = client.post(hook.url, json={"a": "z" * 1500}, headers={"X-Pad": "p" * 600})

        assert [r.status_code for r in (big, chunked, headers_too)] == [413, 413, 413]
        assert big.get_json()["error"]["code"] == "payload_too_large"
        assert executions_of(app, hook.workflow_id) == []
    finally:
        close_app(app)


def test_malformed_or_deeply_nested_json_is_400(app: Flask, client: FlaskClient) -> None:
    hook = make_hook(app)

    broken = client.post(hook.url, data=b'{"a": ', content_type="application/json")
    deep = client.post(
        hook.url, data=b"[" * 100_000 + b"]" * 100_000, content_type="application/json"
    )
    nested = client.post(hook.url, data=b"[" * 65 + b"]" * 65, content_type="application/json")
    fine = client.post(hook.url, data=b"[" * 60 + b"]" * 60, content_type="application/json")

    assert [r.status_code for r in (broken, deep, nested, fine)] == [400, 400, 400, 202]
    assert broken.get_json()["error"]["code"] == "bad_request"
    assert len(wait_final(app, hook.workflow_id)) == 1


def test_nul_characters_outside_json_are_replaced_on_both_databases(
    app: Flask, client: FlaskClient
) -> None:
    # NUL in JSON is refused (400 naming its path: tests/integration/test_unstorable_values.py);
    # in the path, the query, a form or a text body it is replaced, as undecodable bytes are.
    hook = make_hook(app)

    query = client.post(hook.url + "/a%00b?q=%00", data={"f": "x\u0000y"})
    text = client.post(hook.url, data=b"a\x00b", content_type="text/plain")

    assert [query.status_code, text.status_code] == [202, 202]
    first, second = wait_final(app, hook.workflow_id, 2)
    assert first.trigger_data["query"] == {"q": "\ufffd"}
    assert first.trigger_data["path"] == "/a\ufffdb"
    assert first.trigger_data["body"] == {"f": "x\ufffdy"}
    assert second.trigger_data["body"] == "a\ufffdb"


def test_a_delivery_neither_reads_nor_writes_the_session_cookie(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a webhook, and a sender that happens to hold a logged-in session cookie
    hook = make_hook(app)

    # When it posts a delivery
    response = user_client.post(hook.url, json={"n": 1})

    # Then the delivery is accepted without a session: no cookie is written back, and the
    # pages still see the login
    assert response.status_code == 202
    assert "Set-Cookie" not in response.headers
    assert user_client.get("/workflows").status_code == 200
