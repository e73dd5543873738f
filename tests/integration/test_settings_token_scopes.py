"""The Settings page's token form: access (read only, or read and write) and an expiry."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.api_client import Api
from tests.conftest import csrf_token

HTMX = {"HX-Request": "true"}
SECRET_RE = re.compile(r'value="(stp_[A-Za-z0-9_-]+)"')


def test_a_read_only_token_that_expires_is_created_listed_and_refused_on_writes(
    app: Flask, client: FlaskClient, user_client: FlaskClient
) -> None:
    # Given the Settings page, which offers access and expiry
    page = user_client.get("/settings").get_data(as_text=True)
    assert re.search(r'<select[^>]* id="scope" name="scope"', page)
    assert re.search(r'<select[^>]* id="expires_in_days" name="expires_in_days"', page)
    assert "stp_" in page and "secret scanners" in page

    # When the user creates a read-only token that expires in 30 days
    response = user_client.post(
        "/settings/tokens",
        data={"name": "dashboard", "scope": "read", "expires_in_days": "30"},
        headers={**HTMX, "X-CSRFToken": csrf_token(user_client, "/settings")},
    )

    # Then the secret is shown once, saying what it may do and until when
    html = response.get_data(as_text=True)
    assert response.status_code == 201, html
    assert re.search(r"Read-only token “dashboard” created, valid until \d{4}-\d\d-\d\d", html)
    match = SECRET_RE.search(html)
    assert match
    # And the list says its access and its expiry
    row = html[html.index('<tr id="token-') :].split("</tr>")[0]
    assert "Read only" in row
    assert row.count("<time ") == 2  # created, and expires (never used yet)
    # And the API lets it read, and refuses it anything else
    api = Api(client, match.group(1))
    assert api.get("/me").get_json()["token"]["scope"] == "read"
    assert api.post("/workflows", {"name": "x"}).status_code == 403


def test_an_unknown_access_or_expiry_is_refused_beside_its_field(
    user_client: FlaskClient,
) -> None:
    response = user_client.post(
        "/settings/tokens",
        data={"name": "x", "scope": "admin", "expires_in_days": "9999"},
        headers={**HTMX, "X-CSRFToken": csrf_token(user_client, "/settings")},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="scope-error"' in html and 'id="expires_in_days-error"' in html
    assert "No API tokens yet." in html
