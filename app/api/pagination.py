"""Cursor pagination for list endpoints: `?cursor=…&limit=…` in, `next_cursor` out.

A cursor is opaque to clients: base64url of the keyset position (the sort values of the last
item served). Pages are keyset queries, so page 1000 costs what page 1 costs, and rows added
meanwhile never shift an item onto two pages.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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

    after: tuple[Any, ...] | None
    limit: int


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dt"} and isinstance(value["dt"], str):
        return datetime.fromisoformat(value["dt"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for a keyset position (ints, strings and datetimes)."""
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    """The keyset position in a cursor; ValueError if it is not one of ours."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValueError("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise ValueError("not a cursor") from None
    if not isinstance(values, list) or not values:
        raise ValueError("not a cursor")
    return tuple(_decode_value(v) for v in values)


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
    if not cursor:
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


def _check_position(order: Sequence[InstrumentedAttribute[Any]], after: tuple[Any, ...]) -> None:
    """A position must have one value per sort column, of the column's Python type."""
    if len(after) != len(order):
        raise _bad_cursor()
    for column, value in zip(order, after, strict=True):
        sql_type = _sql_type(column)
        if isinstance(value, bool) or not isinstance(value, _python_type(sql_type)):
            raise _bad_cursor()
        if isinstance(value, datetime) and not utc_representable(value):
            raise _bad_cursor()
        # A value the column's integer type cannot hold would be a database error, not a 400.
        bits = 63 if isinstance(sql_type, BigInteger) else 31
        if isinstance(value, int) and not -(2**bits) <= value < 2**bits:
            raise _bad_cursor()


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
        _check_position(order, page.after)
        bound = tuple_(
            *(
                bindparam(None, value, type_=column.type)
                for column, value in zip(order, page.after, strict=True)
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
