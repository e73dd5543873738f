"""Accounts through the test client: register, log in, log out, and the errors users meet."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token, register


def test_register_logs_in_and_shows_the_empty_workflows_page(client: FlaskClient) -> None:
    register(client, "new@example.com", name="New Person")

    page = client.get("/workflows")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "No workflows yet" in html
    for item in ("Workflows", "Executions", "Connections", "Settings"):
        assert f">{item}</a>" in html
    assert "new@example.com" in html


def test_taken_email_is_refused_and_the_form_keeps_the_input(client: FlaskClient) -> None:
    register(client, "taken@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})

    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(client, "/register"),
            "email": "Taken@Example.com",
            "name": "Second Try",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An account with this email already exists." in html
    assert 'value="Taken@Example.com"' in html
    assert 'value="Second Try"' in html


def test_short_password_is_refused_with_a_message(client: FlaskClient) -> None:
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(client, "/register"),
            "email": "short@example.com",
            "password": "abc",
            "confirm": "abc",
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at least 10 characters" in html
    assert 'value="short@example.com"' in html


def test_wrong_password_shows_a_message_and_keeps_the_email(client: FlaskClient) -> None:
    register(client, "bob@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})

    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "email": "bob@example.com",
            "password": "not the password",
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Wrong email or password." in html
    assert 'value="bob@example.com"' in html
    assert client.get("/workflows").status_code == 302


def test_login_then_logout(client: FlaskClient) -> None:
    register(client, "carol@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})
    assert client.get("/workflows").headers["Location"].startswith("/login")

    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "email": "carol@example.com", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/workflows").status_code == 200

    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})
    assert client.get("/workflows").status_code == 302


def test_session_cookie_changes_at_login(client: FlaskClient) -> None:
    register(client, "dave@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})
    token = csrf_token(client)
    before = client.get_cookie("session")

    client.post(
        "/login", data={"csrf_token": token, "email": "dave@example.com", "password": PASSWORD}
    )

    after = client.get_cookie("session")
    assert before is not None and after is not None
    assert before.value != after.value


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post(
        "/register",
        data={"email": "x@example.com", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_htmx_post_without_csrf_header_is_refused(user_client: FlaskClient) -> None:
    response = user_client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_htmx_post_with_csrf_header_is_accepted(user_client: FlaskClient) -> None:
    token = csrf_token(user_client, "/workflows")
    response = user_client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 302


def test_next_parameter_only_redirects_inside_the_site(client: FlaskClient) -> None:
    register(client, "erin@example.com")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/workflows")})
    response = client.post(
        "/login?next=//evil.example/",
        data={"csrf_token": csrf_token(client), "email": "erin@example.com", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/workflows"


def test_pages_carry_a_content_security_policy(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
