"""Cursor pagination helpers: cursors of numbers, keyset pages on both databases, bad input →
400, and every cursor of the documented pattern accepted."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.api.errors import ApiError
from app.api.pagination import (
    MAX_LIMIT,
    PageRequest,
    cursor_pattern,
    decode_cursor,
    encode_cursor,
    keyset_page,
    page_request,
)
from app.extensions import db
from app.models import ApiToken
from app.services.accounts import users
from tests.conftest import PASSWORD, TEST_PASSWORD_HASH

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_cursor_holds_a_datetime_as_microseconds_and_ids_as_they_are() -> None:
    cursor = encode_cursor((START + timedelta(microseconds=7), 42))

    assert cursor == "1714564800000007.42"
    assert decode_cursor(cursor) == (1714564800000007, 42)
    assert re.fullmatch(cursor_pattern(2), cursor) and not re.fullmatch(cursor_pattern(1), cursor)


@pytest.mark.parametrize("cursor", ["!!!", "12.", ".5", "1..2", "-1", "1e3", "1" * 20, "x" * 2000])
def test_a_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError):
        decode_cursor(cursor)


def tokens_of_one_user(app: Flask, count: int) -> list[int]:
    """`count` tokens, several sharing a created_at, so ids must break ties."""
    with app.app_context():
        session = db.session()
        user = users.register(
            session, email="alice@example.com", password=PASSWORD, hash_method=TEST_PASSWORD_HASH
        )
        rows = [
            ApiToken(
                user_id=user.id,
                name=f"t{i}",
                token_hash=f"{i:064x}",
                prefix=f"stp_{i:08d}",
                created_at=START + timedelta(minutes=i // 3),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def test_pages_cover_every_row_once_in_order(app: Flask) -> None:
    # Given 8 rows, three to a timestamp
    ids = tokens_of_one_user(app, 8)
    expected = sorted(ids, key=lambda i: (START + timedelta(minutes=ids.index(i) // 3), i))[::-1]

    # When they are read 3 at a time, newest first, following next_cursor
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    with app.app_context():
        while True:
            after = decode_cursor(cursor) if cursor else None
            items, cursor = keyset_page(
                db.session(),
                select(ApiToken),
                (ApiToken.created_at, ApiToken.id),
                PageRequest(after=after, limit=3),
                lambda t: (t.created_at, t.id),
            )
            seen += [t.id for t in items]
            pages += 1
            if cursor is None:
                break

    # Then every row came once, in order, over three pages
    assert seen == expected
    assert pages == 3


def test_an_exact_last_page_has_no_next_cursor(app: Flask) -> None:
    tokens_of_one_user(app, 3)

    with app.app_context():
        items, cursor = keyset_page(
            db.session(),
            select(ApiToken),
            (ApiToken.created_at, ApiToken.id),
            PageRequest(after=None, limit=3),
            lambda t: (t.created_at, t.id),
        )

    assert len(items) == 3 and cursor is None


@pytest.mark.parametrize("position", [(1,), (1, 2, 3)])
def test_a_position_of_the_wrong_length_is_400_naming_the_cursor(
    app: Flask, position: tuple[int, ...]
) -> None:
    with app.test_request_context(), pytest.raises(ApiError) as caught:
        keyset_page(
            db.session(),
            select(ApiToken),
            (ApiToken.created_at, ApiToken.id),
            PageRequest(after=position, limit=3),
            lambda t: (t.created_at, t.id),
        )

    assert caught.value.code == 400
    assert caught.value.field == "cursor"


def test_any_cursor_of_the_pattern_is_a_position_even_past_what_columns_hold(app: Flask) -> None:
    # Given 4 tokens
    ids = tokens_of_one_user(app, 4)
    with app.app_context():
        for cursor in ("9" * 19 + "." + "9" * 19, "0.0", "1714564800000000.0"):
            # When a page starts at a cursor no page gave out
            items, _ = keyset_page(
                db.session(),
                select(ApiToken),
                (ApiToken.created_at, ApiToken.id),
                PageRequest(after=decode_cursor(cursor), limit=10),
                lambda t: (t.created_at, t.id),
            )
            # Then it is read as a position: past the end, before the start, or between
            expected = {"9": ids[::-1], "0": [], "1": []}[cursor[0]]
            assert [t.id for t in items] == expected, cursor


def test_page_request_reads_limit_and_cursor(app: Flask) -> None:
    cursor = encode_cursor((START, 7))

    with app.test_request_context(f"/?limit=10&cursor={cursor}"):
        page = page_request()
    with app.test_request_context("/"):
        default = page_request()

    assert page == PageRequest(after=(1714564800000000, 7), limit=10)
    assert default == PageRequest(after=None, limit=50)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        (f"limit={MAX_LIMIT + 1}", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1e3", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=e30", "cursor"),
    ],
)
def test_bad_paging_parameters_are_400_naming_the_parameter(
    app: Flask, query: str, field: str
) -> None:
    with app.test_request_context(f"/?{query}"), pytest.raises(ApiError) as caught:
        page_request()

    assert caught.value.code == 400
    assert caught.value.error_code == "invalid_parameter"
    assert caught.value.field == field
