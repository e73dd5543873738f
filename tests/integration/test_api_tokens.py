"""API tokens through the service: issued once, stored as hashes, revocable at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import ApiToken, Base, User
from app.models.base import utcnow
from app.services.accounts import api_tokens, users
from app.services.errors import NotFoundError
from tests.conftest import PASSWORD, TEST_PASSWORD_HASH


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        yield db.session()


def make_user(session: Session, email: str = "alice@example.com") -> User:
    return users.register(session, email=email, password=PASSWORD, hash_method=TEST_PASSWORD_HASH)


def all_stored_text(session: Session) -> str:
    """Every value of every row of every table, as one string."""
    parts: list[str] = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_a_new_token_is_returned_once_and_stored_only_as_a_hash(session: Session) -> None:
    # Given a user
    user = make_user(session)

    # When they create a token
    issued = api_tokens.create_token(session, user, "  deploy script  ")

    # Then they get a long random secret with a recognisable scheme
    assert issued.secret.startswith("stp_")
    assert len(issued.secret) >= len("stp_") + 43
    # And the database holds its sha256 and a short prefix, never the secret itself
    row = session.scalars(select(ApiToken)).one()
    assert row.name == "deploy script"
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert row.prefix == issued.secret[:12]
    stored = all_stored_text(session)
    assert issued.secret not in stored
    assert issued.secret[12:] not in stored


def test_two_tokens_never_share_a_secret(session: Session) -> None:
    user = make_user(session)

    first = api_tokens.create_token(session, user, "a")
    second = api_tokens.create_token(session, user, "b")

    assert first.secret != second.secret


@pytest.mark.parametrize(
    ("name", "message"), [("   ", "Give the token a name"), ("x" * 121, "at most 120")]
)
def test_a_token_needs_a_sensible_name(session: Session, name: str, message: str) -> None:
    user = make_user(session)

    with pytest.raises(api_tokens.TokenError, match=message) as caught:
        api_tokens.create_token(session, user, name)

    assert caught.value.field == "name"
    assert session.scalars(select(ApiToken)).all() == []


def test_authenticate_finds_the_token_and_refuses_anything_else(session: Session) -> None:
    # Given a token
    user = make_user(session)
    issued = api_tokens.create_token(session, user, "ci")

    # When its secret is presented, it authenticates
    found = api_tokens.authenticate(session, issued.secret)
    assert found is not None and found.id == issued.token.id and found.user_id == user.id

    # And nothing else does: a near miss, the visible prefix, another scheme, junk
    for wrong in (
        issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"),
        issued.token.prefix,
        issued.secret.removeprefix("stp_"),
        "",
        "stp_" + "x" * 5000,
        "stp_\u00e9\u00e8",
    ):
        assert api_tokens.authenticate(session, wrong) is None


def test_a_revoked_token_fails_at_once(session: Session) -> None:
    # Given a token that has just been used
    user = make_user(session)
    issued = api_tokens.create_token(session, user, "ci")
    assert api_tokens.authenticate(session, issued.secret) is not None

    # When it is revoked
    api_tokens.revoke_token(session, issued.token)

    # Then the very next use fails, and revoking again keeps the first revocation time
    assert api_tokens.authenticate(session, issued.secret) is None
    revoked_at = issued.token.revoked_at
    assert revoked_at is not None
    api_tokens.revoke_token(session, issued.token)
    assert issued.token.revoked_at == revoked_at


def test_last_used_is_written_at_most_once_a_minute(session: Session) -> None:
    # Given a token never used
    user = make_user(session)
    issued = api_tokens.create_token(session, user, "ci")
    assert issued.token.last_used_at is None
    start = utcnow()

    # When it is used, then again 30 s later, then 61 s after the first use
    api_tokens.authenticate(session, issued.secret, now=start)
    first = issued.token.last_used_at
    api_tokens.authenticate(session, issued.secret, now=start + timedelta(seconds=30))
    second = issued.token.last_used_at
    api_tokens.authenticate(session, issued.secret, now=start + timedelta(seconds=61))
    third = issued.token.last_used_at

    # Then only the first and the third use were written
    assert first is not None
    assert abs(first - start) < timedelta(milliseconds=1)
    assert second == first
    assert third is not None and third - start >= timedelta(seconds=61) - timedelta(milliseconds=1)


def test_listing_shows_only_the_users_live_tokens_newest_first(session: Session) -> None:
    # Given two users with tokens, one of them revoked
    alice = make_user(session)
    mallory = make_user(session, "mallory@example.com")
    old = api_tokens.create_token(session, alice, "old")
    new = api_tokens.create_token(session, alice, "new")
    gone = api_tokens.create_token(session, alice, "gone")
    api_tokens.create_token(session, mallory, "mallory's")
    api_tokens.revoke_token(session, gone.token)

    # When alice's tokens are listed
    listed = api_tokens.list_tokens(session, alice)

    # Then she sees her two live tokens, newest first
    assert [t.id for t in listed] == [new.token.id, old.token.id]


def test_another_users_token_is_as_missing_as_an_unknown_id(session: Session) -> None:
    # Given a token of mallory's
    alice = make_user(session)
    mallory = make_user(session, "mallory@example.com")
    theirs = api_tokens.create_token(session, mallory, "mallory's")

    # When alice looks it up, and an id that does not exist
    with pytest.raises(NotFoundError) as foreign:
        api_tokens.get_token_or_404(session, theirs.token.id, owner=alice)
    with pytest.raises(NotFoundError) as missing:
        api_tokens.get_token_or_404(session, theirs.token.id + 1000, owner=alice)

    # Then both fail the same way, and mallory still finds hers
    assert foreign.value.message == missing.value.message
    assert api_tokens.get_token_or_404(session, theirs.token.id, owner=mallory).name == "mallory's"
