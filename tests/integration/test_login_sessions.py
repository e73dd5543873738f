"""Sessions with an identity: logout, a password change and Settings' "Sign out" end a session
at once, wherever its cookie was copied (issue 18)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import UserSession
from app.models.base import utcnow
from tests.conftest import PASSWORD, csrf_token, register

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
NEW_PASSWORD = "velvet lantern orbit"


def log_in(app: Flask, email: str, user_agent: str = FIREFOX) -> FlaskClient:
    """A second browser logging in to an existing account."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    response = client.post(
        "/login", data={"csrf_token": csrf_token(client), "email": email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def assert_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/workflows")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_cookie_copied_before_logout_is_logged_out_afterwards(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given a copy of a logged-in browser's cookie, which works while the session lives
    thief = copy_of(app, user_client)
    assert thief.get("/workflows").status_code == 200

    # When the user logs out
    user_client.post("/logout", data={"csrf_token": csrf_token(user_client, "/workflows")})

    # Then the copy answers 302 to the login page, like the browser that logged out
    assert_sent_to_login(thief)
    assert_sent_to_login(user_client)


def test_a_csrf_token_ends_with_its_session(app: Flask, user_client: FlaskClient) -> None:
    # Given a copied cookie and a CSRF token of its session
    thief = copy_of(app, user_client)
    token = csrf_token(thief, "/workflows")

    # When the session ends, the token no longer passes on any form, even the login form
    user_client.post("/logout", data={"csrf_token": csrf_token(user_client, "/workflows")})
    response = thief.post(
        "/login", data={"csrf_token": token, "email": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)


def test_a_password_change_ends_the_other_sessions_only(
    app: Flask, user_client: FlaskClient
) -> None:
    # Given alice logged in on a second device
    phone = log_in(app, "alice@example.com", IPHONE)

    # When she changes her password on the first
    response = user_client.post(
        "/settings/password",
        data={
            "csrf_token": csrf_token(user_client, "/settings/password"),
            "current": PASSWORD,
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    # Then the first stays logged in and says what happened; the phone is logged out
    assert response.status_code == 302
    settings = user_client.get("/settings").get_data(as_text=True)
    assert "Password changed. 1 other session signed out." in settings
    assert_sent_to_login(phone)
    # And only the new password logs in
    again = app.test_client()
    old = again.post(
        "/login",
        data={"csrf_token": csrf_token(again), "email": "alice@example.com", "password": PASSWORD},
    )
    assert old.status_code == 422
    new = again.post(
        "/login",
        data={
            "csrf_token": csrf_token(again),
            "email": "alice@example.com",
            "password": NEW_PASSWORD,
        },
    )
    assert new.status_code == 302


def test_a_password_change_needs_the_current_password(user_client: FlaskClient) -> None:
    response = user_client.post(
        "/settings/password",
        data={
            "csrf_token": csrf_token(user_client, "/settings/password"),
            "current": "not my password at all",
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="current-error"' in html
    assert "This is not your current password." in html


def test_sign_out_everywhere_ends_every_session(app: Flask, user_client: FlaskClient) -> None:
    # Given alice on two devices and a copy of the first one's cookie
    phone = log_in(app, "alice@example.com", IPHONE)
    thief = copy_of(app, user_client)

    # When she signs out everywhere (htmx: the browser is sent to the login page)
    response = user_client.post(
        "/settings/sessions/end-all",
        headers={"HX-Request": "true", "X-CSRFToken": csrf_token(user_client, "/settings")},
    )

    # Then every one of them is logged out
    assert response.headers["HX-Redirect"] == "/login"
    for client in (user_client, phone, thief):
        assert_sent_to_login(client)
    assert "You are signed out everywhere" in user_client.get("/login").get_data(as_text=True)


def test_settings_list_the_sessions_and_sign_one_out(app: Flask, user_client: FlaskClient) -> None:
    # Given alice also logged in from an iPhone
    phone = log_in(app, "alice@example.com", IPHONE)
    with app.app_context():
        phone_id = db.session.scalars(
            select(UserSession.id).where(UserSession.device == "Safari on iPhone")
        ).one()

    # When she opens Settings on her laptop
    html = user_client.get("/settings").get_data(as_text=True)

    # Then both sessions are listed with their device, and this one is marked
    assert "Where you are logged in" in html
    assert "Safari on iPhone" in html
    assert html.count("This device") == 1
    assert "Sign out everywhere" in html

    # When she signs the phone out (htmx swaps the list)
    response = user_client.post(
        f"/settings/sessions/{phone_id}/end",
        headers={"HX-Request": "true", "X-CSRFToken": csrf_token(user_client, "/settings")},
    )

    # Then the phone is logged out, the list no longer shows it, and the laptop stays in
    assert response.status_code == 200
    assert 'id="login-sessions"' in response.get_data(as_text=True)
    assert "Safari on iPhone" not in response.get_data(as_text=True)
    assert_sent_to_login(phone)
    assert user_client.get("/workflows").status_code == 200


def test_another_users_session_cannot_be_signed_out(
    app: Flask, user_client: FlaskClient, other_client: FlaskClient
) -> None:
    with app.app_context():
        alices = db.session.scalars(select(UserSession.id).order_by(UserSession.id)).first()

    response = other_client.post(
        f"/settings/sessions/{alices}/end",
        data={"csrf_token": csrf_token(other_client, "/settings")},
    )

    assert response.status_code == 404
    assert user_client.get("/workflows").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(app: Flask, user_client: FlaskClient) -> None:
    def last_seen() -> object:
        with app.app_context():
            return db.session.scalars(select(UserSession.last_seen_at)).one()

    first = last_seen()
    user_client.get("/workflows")
    assert last_seen() == first  # within the minute: no write

    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    user_client.get("/workflows")
    seen = last_seen()
    assert isinstance(seen, type(utcnow())) and utcnow() - seen < timedelta(minutes=1)


def test_a_session_from_before_sessions_had_rows_is_logged_out(app: Flask) -> None:
    # Given a cookie signed with the right key naming a user but no session row
    client = app.test_client()
    register(client, "old@example.com")
    with client.session_transaction() as cookie_session:
        cookie_session.pop("_sid")

    # Then it is anonymous
    assert_sent_to_login(client)


def test_ended_sessions_are_pruned_after_the_retention_period(
    app: Flask, user_client: FlaskClient
) -> None:
    from app.extensions import container
    from app.scheduler import Scheduler

    # Given an ended session from long ago, one ended today, and the live one
    today = log_in(app, "alice@example.com")
    today.post("/logout", data={"csrf_token": csrf_token(today, "/workflows")})
    old = log_in(app, "alice@example.com")
    with app.app_context():
        old_id = db.session.scalars(select(UserSession.id).order_by(UserSession.id.desc())).first()
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == old_id)
            .values(revoked_at=utcnow() - timedelta(days=400))
        )
        db.session.commit()

    # When the scheduler's hourly pass runs
    Scheduler(container(app)).prune_trigger_log()

    # Then only the long-ended one is gone
    with app.app_context():
        left = db.session.execute(select(UserSession.id, UserSession.revoked_at)).all()
    assert old_id not in [row.id for row in left]
    assert sorted(row.revoked_at is None for row in left) == [False, True]
    assert_sent_to_login(old)
    assert user_client.get("/workflows").status_code == 200
