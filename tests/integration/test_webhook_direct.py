"""Webhook deliveries served in front of Flask's dispatch (app/ingress/direct.py) answer exactly
as Flask's dispatch does: the same status line, the same headers in the same order, the same
body, for every family of answer; paths it does not serve reach Flask."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.test import Client, TestResponse

from app import create_app
from app.extensions import db
from app.ingress.direct import DirectHooks, match
from app.models import Trigger
from tests.conftest import base_config
from tests.hooks_support import close_app, executions_of, make_hook

Send = Callable[..., TestResponse]


def flask_dispatch(app: Flask) -> Any:
    """The app's WSGI chain (ProxyFix, SecureCookies...) with Flask's dispatch where
    DirectHooks stands: every request served as before it existed."""

    def rebuild(layer: Any) -> Any:
        if isinstance(layer, DirectHooks):
            return layer.app
        inner = getattr(layer, "app", None)
        if inner is None:
            return layer
        clone = copy.copy(layer)
        clone.app = rebuild(inner)
        return clone

    return rebuild(app.wsgi_app)


def both(app: Flask) -> tuple[FlaskClient, Client]:
    """A client through DirectHooks (the app as deployed) and one through Flask's dispatch."""
    assert any(isinstance(layer, DirectHooks) for layer in _chain(app.wsgi_app))
    return app.test_client(), Client(flask_dispatch(app))


def _chain(layer: Any) -> Iterator[Any]:
    while layer is not None:
        yield layer
        layer = getattr(layer, "app", None)


def same_answer(direct: TestResponse, flask: TestResponse, *, masked: tuple[str, ...] = ()) -> None:
    """Status line, header names and values in order, and body are equal (`masked` headers
    only present in both). An execution id in the answer (202's body, wait mode's header) is
    read as the other answer's, and Content-Length as the body's length."""
    ids = [_execution_id(response) for response in (direct, flask)]
    assert (ids[0] is None) == (ids[1] is None)

    def same(text: str) -> str:
        """`text` with the execution id where an answer names it (the 202's field, an error's
        message) read as the other answer's; the rest of the body (a run's output) as it is."""
        if not (ids[0] and ids[1]):
            return text
        text = re.sub(rf'("execution_id":\s*){ids[0]}\b', rf"\g<1>{ids[1]}", text)
        return re.sub(rf"\bExecution {ids[0]}\b", f"Execution {ids[1]}", text)

    def headers(response: TestResponse) -> list[tuple[str, str]]:
        listed = []
        for name, value in response.headers.to_wsgi_list():
            if name == "Content-Length" and response.request.method != "HEAD":
                assert int(value) == len(response.get_data())
                value = "*"
            if name == "X-Execution-Id" and value == ids[0]:
                value = ids[1] or value
            listed.append((name, "*" if name in masked else value))
        return listed

    assert direct.status == flask.status
    assert headers(direct) == headers(flask)
    assert same(direct.get_data(as_text=True)) == flask.get_data(as_text=True)
    assert b"Traceback" not in direct.get_data()


def _execution_id(response: TestResponse) -> str | None:
    if "X-Execution-Id" in response.headers:
        return response.headers["X-Execution-Id"]
    if response.status_code == 202 and response.request.method != "HEAD":
        return str(_json(response)["execution_id"])
    return None


def _json(response: TestResponse) -> Any:
    found = response.get_json()
    assert found is not None
    return found


def _compare(send_direct: Send, send_flask: Send, *args: Any, **kwargs: Any) -> TestResponse:
    flask = send_flask(*args, **kwargs)
    direct = send_direct(*args, **kwargs)
    same_answer(direct, flask)
    return direct


def test_accepted_replayed_and_refused_deliveries_answer_as_flasks_dispatch(app: Flask) -> None:
    # Given webhooks: a plain one, one deduplicating on a header, one signed
    plain = make_hook(app)
    keyed = make_hook(app, {"idempotency_key": "X-Delivery"})
    signed = make_hook(app, {"auth": "hmac", "secret": "s" * 16, "header": "X-Signature"})
    direct, flask = both(app)

    def compare(method: str, url: str, **kwargs: Any) -> TestResponse:
        return _compare(direct.open, flask.open, url, method=method, **kwargs)

    # Then every family of answer is the same through both
    assert compare("POST", plain.url + "/a/b?x=1", json={"n": 1}).status_code == 202
    for replayed in (False, True):  # each client's own delivery, then its repeat
        first = flask.post(keyed.url, json={}, headers={"X-Delivery": "via-flask"})
        answer = direct.post(keyed.url, json={}, headers={"X-Delivery": "direct"})
        same_answer(answer, first)
        assert _json(answer)["duplicate"] is replayed
    assert answer.headers["Idempotent-Replayed"] == "true"
    assert compare("POST", "/hooks/" + "x" * 43, json={}).status_code == 404
    assert compare("GET", "/hooks/test").status_code == 404  # a token named "test"
    wrong_method = compare("DELETE", plain.url)
    assert (wrong_method.status_code, wrong_method.headers["Allow"]) == (405, "POST")
    assert compare("HEAD", plain.url).get_data() == b""
    assert compare("OPTIONS", plain.url).status_code == 405
    assert compare("POST", signed.url, json={}).status_code == 401
    body = b'{"price": NaN}'
    signature = hmac.new(b"s" * 16, body, hashlib.sha256).hexdigest()
    unstorable = compare(
        "POST",
        signed.url,
        data=body,
        content_type="application/json",
        headers={"X-Signature": signature},
    )
    assert (unstorable.status_code, _json(unstorable)["error"]["field"]) == (400, "body.price")
    broken = compare("POST", plain.url, data=b'{"a": ', content_type="application/json")
    assert _json(broken)["error"]["code"] == "bad_request"
    assert len(executions_of(app, plain.workflow_id)) == 2


def test_oversized_rate_limited_and_wait_mode_answers_are_the_same(
    app_config: dict[str, object],
) -> None:
    # Given an app with a small body cap and one delivery a minute per webhook
    app = create_app({**app_config, "MAX_PAYLOAD_BYTES": 100, "WEBHOOK_RATE_LIMIT": "2/minute"})
    try:
        hook = make_hook(app)
        direct, flask = both(app)

        # Then a body over the cap is 413 (Flask's own error handler answers it) through both
        big = _compare(direct.post, flask.post, hook.url, data=b"x" * 500)
        assert big.status_code == 413
        # and once the budget is spent, 429 with Retry-After through both
        direct.post(hook.url, json={})
        direct.post(hook.url, json={})
        limited = flask.post(hook.url, json={})
        again = direct.post(hook.url, json={})
        same_answer(again, limited, masked=("Retry-After",))
        assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
    finally:
        close_app(app)


WAIT_STEPS = [
    {"key": "a", "type": "transform", "config": {"fields": {"n": "{{ trigger.body.n }}"}}}
]


def test_wait_mode_answers_are_the_same(app: Flask) -> None:
    # Given webhooks in wait mode: one that completes, one that fails, one too slow
    done = make_hook(app, {"response_mode": "wait"}, WAIT_STEPS)
    failing = [{"key": "boom", "type": "test_flaky", "config": {"succeed_on_attempt": 9}}]
    fails = make_hook(app, {"response_mode": "wait"}, failing)
    slow_steps = [
        {"key": "later", "type": "delay", "config": {"amount": 30}},
        {"key": "then", "type": "log", "config": {"message": "done"}},
    ]
    slow = make_hook(app, {"response_mode": "wait", "wait_timeout_seconds": 1}, slow_steps)
    direct, flask = both(app)

    # Then 200 with the output, 502 and 504 naming the execution, through both
    for hook, status in [(done, 200), (fails, 502), (slow, 504)]:
        answer = _compare(direct.post, flask.post, hook.url, json={"n": 7})
        assert answer.status_code == status
        assert answer.headers["X-Execution-Id"]


def test_hsts_and_forwarded_https_answers_are_the_same(app_config: dict[str, object]) -> None:
    # Given an app behind one proxy, with HSTS
    app = create_app({**app_config, "PROXY_HOPS": 1, "HSTS_SECONDS": 600})
    try:
        hook = make_hook(app)
        direct, flask = both(app)
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}

        # Then a delivery the proxy received over https carries HSTS through both; over http not
        accepted = _compare(direct.post, flask.post, hook.url, json={}, headers=https)
        assert accepted.headers["Strict-Transport-Security"] == "max-age=600"
        refused = _compare(direct.get, flask.get, "/hooks/" + "y" * 43, headers=https)
        assert refused.headers["Strict-Transport-Security"] == "max-age=600"
        plain = _compare(direct.post, flask.post, hook.url, json={})
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        close_app(app)


def test_an_unreachable_database_is_the_same_503(app_config: dict[str, object]) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:9/stepline?connect_timeout=2"
    app = create_app({**base_config(url), "EMBEDDED_WORKER": False})
    direct, flask = both(app)

    answer = _compare(direct.post, flask.post, "/hooks/" + "a" * 43, json={})

    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5")


def test_an_internal_error_is_a_logged_json_500_without_stack_trace(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a webhook whose stored trigger config no code can read any more
    hook = make_hook(app)
    with app.app_context():
        db.session.execute(
            update(Trigger)
            .where(Trigger.workflow_id == hook.workflow_id)
            .values(config={"methods": 7})
        )
        db.session.commit()
    direct, flask = both(app)

    # When a delivery arrives
    answer = _compare(direct.post, flask.post, hook.url, json={})

    # Then it is a JSON 500 naming nothing of the error, and the error is logged
    assert answer.status_code == 500
    assert _json(answer)["error"]["code"] == "internal_server_error"
    logged = [r for r in caplog.records if r.getMessage().startswith("unhandled error on POST")]
    assert len(logged) == 2 and all(r.exc_info for r in logged)
    assert hook.token not in json.dumps([r.getMessage() for r in logged])


@pytest.mark.parametrize(
    ("method", "path", "served"),
    [
        ("POST", "/hooks/abc", ("abc", "")),
        ("GET", "/hooks/abc/orders/7", ("abc", "orders/7")),
        ("POST", "/hooks/test", ("test", "")),
        ("POST", "/hooks/test/abc", None),  # the editor's test URL: Flask's
        ("POST", "/hooks/", None),
        ("POST", "/hooks/abc/", None),  # Flask's router decides about slashes
        ("POST", "/hooks//abc", None),
        ("POST", "/hooks/abc//x", None),
        ("TRACE", "/hooks/abc", None),  # no webhook route accepts it: Flask's 405
        ("POST", "/hooksabc", None),
        ("POST", "/api/v1/hooks/abc", None),
    ],
)
def test_only_plain_delivery_paths_are_served_directly(
    method: str, path: str, served: tuple[str, str] | None
) -> None:
    assert match({"REQUEST_METHOD": method, "PATH_INFO": path}) == served


def test_every_route_under_hooks_is_the_deliverys_or_the_test_urls(app: Flask) -> None:
    # A new route under /hooks/ would be shadowed by DirectHooks: it must be one of these
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/hooks")}
    assert rules == {
        "/hooks/<token>",
        "/hooks/<token>/<path:subpath>",
        "/hooks/test/<token>",
        "/hooks/test/<token>/<path:subpath>",
    }


def test_paths_left_to_flask_answer_as_before(app: Flask) -> None:
    hook = make_hook(app)
    direct, flask = both(app)

    for method, path in [
        ("POST", "/hooks/"),
        ("POST", hook.url + "/"),
        ("POST", "/hooks//" + hook.token),
        ("TRACE", hook.url),
        ("POST", f"/hooks/test/{hook.token}"),
    ]:
        _compare(direct.open, flask.open, path, method=method, json={})
    assert executions_of(app, hook.workflow_id) == []
