"""Behind a TLS-terminating proxy: forwarded headers (STEPLINE_PROXY_HOPS), the public address
(STEPLINE_PUBLIC_URL) every external URL is built on, Secure cookies, HSTS, and the doctor's
warning about a plain-http public address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.config import build
from app.ops.checks import Level
from app.ops.doctor import public_address
from tests.api_client import Api, issue_token
from tests.conftest import register
from tests.fakes.google import FakeGoogle
from tests.fakes.http import FakeServer
from tests.google_support import start_connect
from tests.integration.editor_support import Editor

# What a TLS proxy in front of the web process adds to each request it passes on.
FORWARDED = {
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "stepline.example.com",
    "HTTP_X_FORWARDED_FOR": "203.0.113.9",
    # Browsers send it on same-origin requests; Flask-WTF checks it on https ones.
    "HTTP_REFERER": "https://stepline.example.com/",
}
WEBHOOK_URL = re.compile(r'id="webhook-url" [^>]*value="([^"]+)"')


@pytest.fixture(params=["behind one proxy", "no proxy trusted", "public url", "never secure"])
def setup(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app_config(app_config: dict[str, object], setup: str) -> dict[str, object]:
    extras: dict[str, dict[str, object]] = {
        "behind one proxy": {"PROXY_HOPS": 1},
        "no proxy trusted": {},
        "public url": {"PUBLIC_URL": "https://stepline.example.com/base/"},
        "never secure": {"PROXY_HOPS": 1, "SESSION_COOKIE_SECURE": False},
    }
    return {**app_config, **extras[setup]}


@pytest.fixture
def browser(app: Flask, setup: str) -> FlaskClient:
    """A browser whose requests pass through the proxy (the public-URL case: straight to the
    app over plain http, as behind a proxy that forwards no headers)."""
    client = app.test_client()
    if setup != "public url":
        client.environ_base.update(FORWARDED)
    return client


def _session_cookie(set_cookies: list[str]) -> str:
    (cookie,) = [value for value in set_cookies if value.startswith("session=")]
    return cookie


def _webhook_url_in_editor(browser: FlaskClient) -> str:
    editor = Editor(browser)
    workflow_id = editor.create("Hooked")
    assert editor.post(f"/workflows/{workflow_id}/trigger", {"type": "webhook"}).status_code == 200
    assert editor.save(workflow_id).status_code == 200
    panel = editor.get(f"/workflows/{workflow_id}?panel=trigger", htmx=True).get_data(as_text=True)
    match = WEBHOOK_URL.search(panel)
    assert match, panel
    return match.group(1)


def _webhook_url_in_api(app: Flask, client: FlaskClient) -> str:
    api = Api(client, issue_token(app, "script@example.com"))
    created = api.create({"name": "Inbound", "trigger": {"type": "webhook"}, "steps": []})
    shown = api.get(f"/workflows/{created['id']}")
    assert shown.status_code == 200
    return str(shown.get_json()["webhook_url"])


EXPECTED = {
    # setup: (session cookie Secure, base of external URLs)
    "behind one proxy": (True, "https://stepline.example.com/hooks/"),
    "no proxy trusted": (False, "http://localhost/hooks/"),  # forged headers are ignored
    "public url": (True, "https://stepline.example.com/base/hooks/"),
    "never secure": (False, "https://stepline.example.com/hooks/"),
}


def test_cookies_and_external_urls_follow_the_proxy_and_the_public_url(
    app: Flask, browser: FlaskClient, setup: str
) -> None:
    secure, base = EXPECTED[setup]

    # When a user signs up (the answer sets the session cookie)
    signed_in = browser.get("/register")

    # Then the cookie is Secure exactly when the request came over https (or the public
    # address is https), unless SESSION_COOKIE_SECURE says never
    cookie = _session_cookie(signed_in.headers.getlist("Set-Cookie"))
    assert ("; Secure" in cookie) is secure, cookie
    assert "HttpOnly" in cookie

    # And the webhook URLs the editor and the API show are on the public address
    register(browser, "alice@example.com")
    assert _webhook_url_in_editor(browser).startswith(base)
    assert _webhook_url_in_api(app, browser).startswith(base)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.mark.parametrize("setup", ["public url", "behind one proxy"])
def test_the_google_callback_is_on_the_public_address(
    app_config: dict[str, object], google: FakeGoogle, setup: str
) -> None:
    from app import create_app
    from tests.hooks_support import close_app

    # Given Google configured, on an app behind the proxy or with a public URL
    app = create_app({**app_config, **google.settings()})
    try:
        client = app.test_client()
        if setup != "public url":
            client.environ_base.update(FORWARDED)
        register(client, "alice@example.com")

        # When the user presses "Connect Google"
        authorize = start_connect(client)

        # Then Google is told to send the user back to the public address
        (callback,) = parse_qs(urlsplit(authorize).query)["redirect_uri"]
        base = EXPECTED[setup][1].removesuffix("/hooks/")
        assert callback == f"{base}/connections/google/callback"
    finally:
        close_app(app)


@pytest.mark.parametrize("setup", ["behind one proxy"])
@pytest.mark.parametrize("hsts", [0, 300])
def test_hsts_is_sent_on_https_answers_only_when_asked(
    app_config: dict[str, object], hsts: int
) -> None:
    from app import create_app
    from tests.hooks_support import close_app

    app = create_app({**app_config, "HSTS_SECONDS": hsts})
    try:
        over_https = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        over_http = app.test_client().get("/login")
    finally:
        close_app(app)

    assert over_https.headers.get("Strict-Transport-Security") == (
        f"max-age={hsts}" if hsts else None
    )
    assert "Strict-Transport-Security" not in over_http.headers


@pytest.mark.parametrize(
    ("settings", "level"),
    [
        ({"REDIS_URL": "redis://redis:6379/0"}, Level.WARN),  # production, unset
        (
            {"REDIS_URL": "redis://redis:6379/0", "PUBLIC_URL": "http://stepline.example.com"},
            Level.WARN,
        ),
        ({"SQLALCHEMY_DATABASE_URI": "postgresql://db/stepline"}, Level.WARN),
        (
            {"REDIS_URL": "redis://redis:6379/0", "PUBLIC_URL": "https://stepline.example.com"},
            Level.OK,
        ),
        (
            {"SQLALCHEMY_DATABASE_URI": "sqlite:///instance/stepline.db"},
            Level.OK,
        ),  # embedded, local
    ],
)
def test_the_doctor_warns_about_a_public_url_that_is_not_https_in_production(
    settings: dict[str, str], level: Level
) -> None:
    found = public_address(build({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db", **settings}))

    assert found.level is level, found.detail
    if level is Level.WARN:
        assert "STEPLINE_PUBLIC_URL" in found.detail
