"""Connecting Google: the OAuth flow against the local fake Google, state checks, incremental
scopes, revoke, the Connections page and its tenancy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.crypto import SecretBox
from app.extensions import container, db
from app.google import scopes
from app.models import Connection
from tests.conftest import csrf_token, without_csrf
from tests.fakes.google import FakeGoogle
from tests.fakes.http import FakeServer
from tests.google_support import connect, connections_of, consent, start_connect


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with FakeServer() as server:
        yield FakeGoogle(server)


@pytest.fixture
def app_config(app_config: dict[str, object], google: FakeGoogle) -> dict[str, object]:
    return {**app_config, **google.settings()}


def box(app: Flask) -> SecretBox:
    secrets: SecretBox = container(app).secrets
    return secrets


def test_connecting_google_stores_the_account_with_encrypted_tokens(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given alice on the Connections page, with nothing connected
    page = user_client.get("/connections").get_data(as_text=True)
    assert "Connect Google" in page and "No Google account connected yet." in page

    # When she connects Google and the (fake) consent sends her back
    status, location = connect(user_client)

    # Then the authorization request used PKCE S256, offline access and a consent prompt
    asked = google.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["access_type"] == "offline" and asked["prompt"] == "consent"
    assert asked["include_granted_scopes"] == "true"
    assert {"openid", "email", scopes.GMAIL_READ, scopes.GMAIL_SEND} <= set(asked["scope"].split())
    # And she is back on Connections, with the account listed as active
    assert (status, location) == (302, "/connections")
    listing = user_client.get("/connections").get_data(as_text=True)
    assert "alice.google@example.com" in listing and "Active" in listing
    assert "Gmail: send messages" in listing
    # And the tokens are stored encrypted, decrypting to what Google issued
    (row,) = connections_of(app, "alice@example.com")
    assert row.status == "active" and row.account_email == "alice.google@example.com"
    refresh = box(app).decrypt(row.refresh_token_encrypted or "")
    access = box(app).decrypt(row.access_token_encrypted or "")
    assert refresh in google.grants and google.grant_for(access) is not None
    assert row.expires_at is not None and scopes.SHEETS in row.scopes


def test_a_callback_without_state_is_refused_and_nothing_is_stored(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a flow started by alice
    callback = consent(start_connect(user_client))
    code = callback.split("code=")[1].split("&")[0]

    # When the callback arrives without its state
    response = user_client.get(f"/connections/google/callback?code={code}")

    # Then it is refused and nothing is stored
    assert response.status_code == 400
    assert "was refused" in response.get_data(as_text=True)
    assert connections_of(app, "alice@example.com") == []


def test_a_callback_with_another_sessions_state_is_refused(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given mallory started a flow and got Google's answer (code and state)
    mallorys_callback = consent(start_connect(other_client))

    # When alice's browser is made to open that callback (login CSRF)
    response = user_client.get(mallorys_callback)

    # Then it is refused: the state is not one alice's session started; nothing is stored
    assert response.status_code == 400
    assert connections_of(app, "alice@example.com") == []
    assert connections_of(app, "mallory@example.com") == []


def test_a_replayed_callback_is_refused_even_with_the_old_cookie(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given alice completed a flow; her session cookie from before the callback is kept
    callback = consent(start_connect(user_client))
    old_cookie = user_client.get_cookie("session")
    assert old_cookie is not None
    assert user_client.get(callback).status_code == 302
    (before,) = connections_of(app, "alice@example.com")

    # When the same callback is replayed, first as is, then with the old cookie restored
    again = user_client.get(callback)
    user_client.set_cookie("session", old_cookie.value)
    with_old_cookie = user_client.get(callback)

    # Then both are refused and the stored connection is unchanged
    assert again.status_code == 400 and with_old_cookie.status_code == 400
    (after,) = connections_of(app, "alice@example.com")
    assert after.access_token_encrypted == before.access_token_encrypted


def test_declining_consent_stores_nothing(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a user who declines on Google's consent page
    google.deny = True

    # When Google sends her back
    status, _ = connect(user_client)

    # Then the page says access was not granted, and nothing is stored
    assert status == 400
    assert connections_of(app, "alice@example.com") == []


def test_more_access_is_added_to_the_same_connection(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection with Gmail read access only
    connect(user_client, ["gmail_read"])
    (first,) = connections_of(app, "alice@example.com")
    assert scopes.SHEETS not in first.scopes
    page = user_client.get("/connections").get_data(as_text=True)
    assert "Add access" in page

    # When she adds Sheets access for that account
    status, _ = connect(user_client, ["sheets"], account="alice.google@example.com")

    # Then Google was asked for Sheets only (incremental), for that account
    asked = google.authorize_requests[-1]
    assert set(asked["scope"].split()) == {"openid", "email", scopes.SHEETS}
    assert asked["login_hint"] == "alice.google@example.com"
    # And the same connection now holds both scopes
    (after,) = connections_of(app, "alice@example.com")
    assert status == 302 and after.id == first.id
    assert {scopes.GMAIL_READ, scopes.SHEETS} <= set(after.scopes)


def test_revoking_calls_google_and_deletes_the_tokens(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection
    connect(user_client)
    (row,) = connections_of(app, "alice@example.com")
    refresh = box(app).decrypt(row.refresh_token_encrypted or "")

    # When alice revokes it from the page (htmx)
    response = user_client.post(
        f"/connections/{row.id}/revoke",
        headers={"HX-Request": "true", "X-CSRFToken": csrf_token(user_client, "/connections")},
    )

    # Then Google's revoke endpoint got the refresh token, and the fragment shows it revoked
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.startswith('<section id="connections"') and "Revoked" in fragment
    assert google.revoked_tokens == [refresh]
    # And the tokens are gone from the database
    (after,) = connections_of(app, "alice@example.com")
    assert after.status == "revoked"
    assert after.access_token_encrypted is None and after.refresh_token_encrypted is None


def test_a_connection_that_needs_reconnecting_offers_reconnect(
    app: Flask, user_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given a connection Google no longer accepts
    connect(user_client, ["gmail_read", "gmail_send"])
    (row,) = connections_of(app, "alice@example.com")
    with app.app_context():
        db.session.execute(
            update(Connection).where(Connection.id == row.id).values(status="needs_reconnect")
        )
        db.session.commit()

    # When she opens Connections
    page = user_client.get("/connections").get_data(as_text=True)

    # Then it shows "Needs reconnect" and a Reconnect button for that account and its access
    assert "Needs reconnect" in page and "Reconnect" in page
    # And reconnecting runs the flow again for that account; the connection is active again
    status, _ = connect(user_client, ["gmail_read", "gmail_send"], "alice.google@example.com")
    assert google.authorize_requests[-1]["login_hint"] == "alice.google@example.com"
    (after,) = connections_of(app, "alice@example.com")
    assert status == 302 and after.id == row.id and after.status == "active"


def test_another_users_connection_looks_missing(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient, google: FakeGoogle
) -> None:
    # Given alice's connection
    connect(user_client)
    (row,) = connections_of(app, "alice@example.com")
    token = csrf_token(other_client, "/connections")

    # When mallory tries every connection route on it, and on an id that does not exist
    routes = [
        rule
        for rule in app.url_map.iter_rules()
        if "connection_id" in rule.arguments
        and app.view_functions[rule.endpoint].__module__ == "app.web.connections"
    ]
    assert {rule.endpoint for rule in routes} == {"web.connection_revoke"}
    for rule in routes:
        path = rule.rule.replace("<int:connection_id>", "{}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            theirs = other_client.open(
                path.format(row.id), method=method, headers={"X-CSRFToken": token}
            )
            missing = other_client.open(
                path.format(row.id + 1000), method=method, headers={"X-CSRFToken": token}
            )
            # Then both are the same 404
            assert theirs.status_code == missing.status_code == 404
            assert without_csrf(theirs) == without_csrf(missing)
    # And alice's connection is untouched, and not on mallory's page
    assert connections_of(app, "alice@example.com")[0].status == "active"
    assert "alice.google@example.com" not in other_client.get("/connections").get_data(as_text=True)


def test_without_google_settings_the_page_says_so(
    app: Flask, user_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server without a Google client id
    current = container(app)
    monkeypatch.setattr(
        current, "settings", current.settings.model_copy(update={"google_client_id": None})
    )

    # When a user opens Connections and tries to connect anyway
    page = user_client.get("/connections").get_data(as_text=True)
    response = user_client.post(
        "/connections/google",
        data={"csrf_token": csrf_token(user_client, "/connections"), "services": ["gmail_read"]},
    )

    # Then the page explains, and the attempt is refused without leaving the site
    assert "Google is not configured on this server" in page
    assert response.status_code == 422
