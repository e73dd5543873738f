"""The settings page: create an API token (shown once), list tokens, revoke one."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken
from app.services.accounts import api_tokens
from tests.conftest import csrf_token, without_csrf

HTMX = {"HX-Request": "true"}
SECRET_RE = re.compile(r'value="(stp_[A-Za-z0-9_-]+)"')


def create_token(client: FlaskClient, name: str, *, htmx: bool = False) -> str:
    """Create a token through the settings form and return the secret the page shows."""
    headers = {**HTMX, "X-CSRFToken": csrf_token(client, "/settings")} if htmx else {}
    data = {"name": name} if htmx else {"name": name, "csrf_token": csrf_token(client, "/settings")}
    response = client.post("/settings/tokens", data=data, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    match = SECRET_RE.search(response.get_data(as_text=True))
    assert match, "the new token is not shown"
    return match.group(1)


def token_id(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session.scalars(select(ApiToken.id).where(ApiToken.name == name)).one()


def test_settings_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/settings")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_new_user_sees_no_tokens_and_the_form(user_client: FlaskClient) -> None:
    response = user_client.get("/settings")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'aria-current="page">Settings</a>' in html
    assert '<section id="api-tokens"' in html
    assert "No API tokens yet." in html
    assert 'action="/settings/tokens"' in html and 'hx-post="/settings/tokens"' in html


def test_a_created_token_is_shown_once_then_listed_by_prefix(user_client: FlaskClient) -> None:
    # Given a logged-in user on the settings page
    # When they create a token with the plain form (no JavaScript)
    secret = create_token(user_client, "deploy script")

    # Then the secret was shown on that answer only; later the list shows name and prefix
    page = user_client.get("/settings")
    html = page.get_data(as_text=True)
    assert secret not in html
    assert "deploy script" in html
    assert f"<code>{secret[:12]}…</code>" in html
    assert "Never" in html
    assert page.headers["Cache-Control"] == "no-store"


def test_htmx_create_answers_the_tokens_fragment_with_the_secret(user_client: FlaskClient) -> None:
    # Given the settings page
    token = csrf_token(user_client, "/settings")

    # When htmx posts the form
    response = user_client.post(
        "/settings/tokens", data={"name": "ci"}, headers={**HTMX, "X-CSRFToken": token}
    )

    # Then the answer is the fragment alone: one root with a stable id, carrying the secret once
    html = response.get_data(as_text=True).strip()
    assert response.status_code == 201
    assert html.startswith('<section id="api-tokens"') and html.endswith("</section>")
    assert "<html" not in html
    assert len(SECRET_RE.findall(html)) == 1
    assert "this is the only time it is shown" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_a_token_without_a_name_is_refused_in_the_form(user_client: FlaskClient) -> None:
    token = csrf_token(user_client, "/settings")

    response = user_client.post(
        "/settings/tokens", data={"name": "   "}, headers={**HTMX, "X-CSRFToken": token}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the token a name" in html
    assert not SECRET_RE.search(html)


def test_token_names_are_escaped(user_client: FlaskClient) -> None:
    create_token(user_client, '<img src=x onerror=alert(1)> hx-get="/x"')

    html = user_client.get("/settings").get_data(as_text=True)

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_htmx_revoke_answers_the_fragment_and_the_token_stops_working(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given two tokens
    secret = create_token(user_client, "old laptop")
    create_token(user_client, "ci")
    old_id = token_id(app, "old laptop")

    # When the user revokes one through htmx
    response = user_client.post(
        f"/settings/tokens/{old_id}/revoke",
        headers={**HTMX, "X-CSRFToken": csrf_token(user_client, "/settings")},
    )

    # Then the answer is the changed fragment without it, and the token fails at once
    html = response.get_data(as_text=True).strip()
    assert response.status_code == 200
    assert html.startswith('<section id="api-tokens"')
    assert "old laptop" not in html and '<td data-label="Name">ci</td>' in html
    with app.app_context():
        assert api_tokens.authenticate(db.session(), secret) is None


def test_revoke_without_javascript_redirects_back_with_a_message(
    app: Flask, user_client: FlaskClient
) -> None:
    create_token(user_client, "old laptop")

    response = user_client.post(
        f"/settings/tokens/{token_id(app, 'old laptop')}/revoke",
        data={"csrf_token": csrf_token(user_client, "/settings")},
        follow_redirects=True,
    )

    html = response.get_data(as_text=True)
    assert response.request.path == "/settings"
    assert "Token “old laptop” revoked." in html
    assert "No API tokens yet." in html


def test_revoke_asks_for_confirmation(user_client: FlaskClient) -> None:
    create_token(user_client, "ci")

    html = user_client.get("/settings").get_data(as_text=True)

    assert 'hx-confirm="Revoke the token “ci”? Scripts using it stop working at once."' in html


def test_another_users_token_cannot_be_revoked_and_looks_missing(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    # Given a token of mallory's
    secret = create_token(other_client, "mallory's")
    theirs = token_id(app, "mallory's")
    headers = {**HTMX, "X-CSRFToken": csrf_token(user_client, "/settings")}

    # When alice tries to revoke it, and a token id that does not exist
    foreign = user_client.post(f"/settings/tokens/{theirs}/revoke", headers=headers)
    missing = user_client.post(f"/settings/tokens/{theirs + 1000}/revoke", headers=headers)

    # Then both answer the same 404, and mallory's token still works
    assert foreign.status_code == missing.status_code == 404
    assert without_csrf(foreign) == without_csrf(missing)
    with app.app_context():
        assert api_tokens.authenticate(db.session(), secret) is not None


def test_unsafe_requests_without_csrf_are_refused(app: Flask, user_client: FlaskClient) -> None:
    # Given a token
    create_token(user_client, "ci")
    own = token_id(app, "ci")

    # When the forms are posted without the CSRF token, as a form and as htmx
    responses = [
        user_client.post("/settings/tokens", data={"name": "sneaky"}),
        user_client.post("/settings/tokens", data={"name": "sneaky"}, headers=HTMX),
        user_client.post(f"/settings/tokens/{own}/revoke"),
        user_client.post(f"/settings/tokens/{own}/revoke", headers=HTMX),
    ]

    # Then every one is refused and nothing changed
    assert [r.status_code for r in responses] == [400, 400, 400, 400]
    with app.app_context():
        names = db.session.scalars(select(ApiToken.name).where(ApiToken.revoked_at.is_(None))).all()
    assert names == ["ci"]
