"""Cursor pagination for list endpoints: `?cursor=…&limit=…` in, `next_cursor` out.

A cursor is the keyset position of the last item served: its sort values as numbers joined by
dots. Every string of that form is a position (clamped to what the columns hold), so the
pattern the OpenAPI document states is exactly what the server accepts. Pages are keyset
queries, so page 1000 costs what page 1 costs, and rows added meanwhile never shift an item
onto two pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import request
from sqlalchemy import BigInteger, Select, bindparam, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.api.errors import ApiError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 1000


@dataclass(frozen=True)
class PageRequest:
    """Where a page starts (None: at the beginning) and how many items it holds."""

    after: tuple[int, ...] | None  # a cursor's numbers (see decode_cursor)
    limit: int


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
LATEST = (datetime(9999, 12, 31, tzinfo=UTC) - EPOCH) // MICROSECOND
PART = r"[0-9]{1,19}"
_CURSOR = re.compile(rf"{PART}(?:\.{PART})*")


def cursor_pattern(parts: int) -> str:
    """The documented pattern of a cursor over `parts` sort columns: every string it matches
    is a position the list accepts (the schema promises no more than the server keeps)."""
    return rf"^{PART}" + (rf"(\.{PART}){{{parts - 1}}}" if parts > 1 else "") + "$"


def _encode_value(value: int | datetime) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return str((aware - EPOCH) // MICROSECOND)
    return str(value)


def encode_cursor(values: Sequence[int | datetime]) -> str:
    """A cursor for a keyset position: its values joined by dots, a date-time as microseconds
    since 1970 (UTC), e.g. `1714564800000000.42`."""
    return ".".join(_encode_value(v) for v in values)


def decode_cursor(cursor: str) -> tuple[int, ...]:
    """The numbers of a cursor; ValueError if it is not of the cursor's form."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _CURSOR.fullmatch(cursor):
        raise ValueError("not a cursor")
    return tuple(int(part) for part in cursor.split("."))


def page_request(default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT) -> PageRequest:
    """Read `cursor` and `limit` from the query string; bad values → 400 naming the parameter."""
    raw_limit = request.args.get("limit")
    limit = default_limit
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= max_limit:
            raise ApiError(
                400,
                "invalid_parameter",
                f"`limit` must be an integer from 1 to {max_limit}.",
                field="limit",
            )
        limit = int(raw_limit)
    cursor = request.args.get("cursor")
    if cursor is None:  # an empty one is refused, as its documented pattern says
        return PageRequest(after=None, limit=limit)
    try:
        after = decode_cursor(cursor)
    except ValueError:
        raise _bad_cursor() from None
    return PageRequest(after=after, limit=limit)


def _bad_cursor() -> ApiError:
    return ApiError(
        400,
        "invalid_parameter",
        "`cursor` is not valid; pass the `next_cursor` of the previous page unchanged.",
        field="cursor",
    )


def _sql_type(column: InstrumentedAttribute[Any]) -> TypeEngine[Any]:
    sql_type: TypeEngine[Any] = column.type
    return sql_type.impl_instance if isinstance(sql_type, TypeDecorator) else sql_type


def _python_type(sql_type: TypeEngine[Any]) -> type:
    try:
        return sql_type.python_type
    except NotImplementedError:
        return object


def utc_representable(value: datetime) -> bool:
    """True for an aware datetime that has a UTC equivalent (not 0001-01-01T00:00+05:00)."""
    if value.tzinfo is None:
        return False
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _position(
    order: Sequence[InstrumentedAttribute[Any]], after: tuple[int, ...]
) -> tuple[int | datetime, ...]:
    """A cursor's numbers as values of the sort columns: one per column (else 400). A number
    past what a column holds is clamped to its greatest value, which orders the same against
    every stored row (the pages run newest first, from below it)."""
    if len(after) != len(order):
        raise _bad_cursor()
    values: list[int | datetime] = []
    for column, number in zip(order, after, strict=True):
        sql_type = _sql_type(column)
        if issubclass(_python_type(sql_type), datetime):
            values.append(EPOCH + min(number, LATEST) * MICROSECOND)
        else:
            bits = 63 if isinstance(sql_type, BigInteger) else 31
            values.append(min(number, 2**bits - 1))
    return tuple(values)


def keyset_page(
    session: Session,
    stmt: Select[T],
    order: Sequence[InstrumentedAttribute[Any]],
    page: PageRequest,
    position: Callable[[T], Sequence[Any]],
    descending: bool = True,
) -> tuple[list[T], str | None]:
    """One page of `stmt` sorted by `order` (unique together, e.g. created_at then id).

    `position(item)` gives an item's values of the `order` columns; the last item's becomes
    the next page's cursor. Returns the items and that cursor (None on the last page)."""
    if page.after is not None:
        after = _position(order, page.after)
        bound = tuple_(
            *(
                bindparam(None, value, type_=column.type)
                for column, value in zip(order, after, strict=True)
            )
        )
        key = tuple_(*order)
        stmt = stmt.where(key < bound if descending else key > bound)
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in order))
    items = list(session.scalars(stmt.limit(page.limit + 1)))
    if len(items) <= page.limit:
        return items, None
    items = items[: page.limit]
    return items, encode_cursor(position(items[-1]))
