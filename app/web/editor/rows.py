"""The structured widgets' values: rows of a key/value list, a list, a condition builder, and
the body editor, both as they are shown and as a form posts them.

A row's inputs are indexed (`config.headers-0-key`, `config.headers-0-value`); the index only
pairs a row's inputs, their order in the post is the rows' order (the page reorders rows by
moving them, without renumbering). A value that may be of any JSON type is written as JSON
when it reads as JSON and as plain text otherwise, so that a template stays as typed and a
number stays a number: `42` is the number, `"42"` the text, `{{ trigger.id }}` the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

BLANK = object()  # "an empty input means: nothing here"


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def read_json(text: str) -> Any:
    """`text` as JSON; ValueError when it is not (NaN and Infinity are not JSON)."""
    return json.loads(text, parse_constant=_reject_constant)


def is_json(text: str) -> bool:
    try:
        read_json(text)
    except ValueError:
        return False
    return True


def show_loose(value: Any, blank: Any = None) -> str:
    """A value of any JSON type as one line of text (the inverse of `read_loose`)."""
    if value is blank and blank is not BLANK:
        return ""
    if isinstance(value, str):
        if value == "":
            return '""'
        return json.dumps(value, ensure_ascii=False) if is_json(value) else value
    return json.dumps(value, ensure_ascii=False)


def read_loose(text: str, blank: Any = None) -> Any:
    """Typed text back to a value: JSON when it reads as JSON, else the text itself."""
    if text == "":
        return blank
    try:
        return read_json(text)
    except ValueError:
        return text


def posted_list(form: Mapping[str, str], name: str) -> list[str]:
    """Every value posted under `name` (checkboxes post one each)."""
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    return [form[name]] if name in form else []


def indexes(form: Mapping[str, str], name: str) -> list[str]:
    """The row indexes posted for widget `name`, in the order the rows come in the post."""
    pattern = re.compile(rf"^{re.escape(name)}-(\d+)-")
    found: list[str] = []
    for key in form:
        match = pattern.match(key)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def posted_rows(form: Mapping[str, str], name: str, parts: Iterable[str]) -> list[dict[str, str]]:
    """The rows of widget `name` exactly as typed: one dict of part → text per row."""
    names = tuple(parts)
    return [
        {part: form.get(f"{name}-{index}-{part}", "") for part in names}
        for index in indexes(form, name)
    ]


def row_number(position: int) -> str:
    return f"Row {position + 1}"


def read_pairs(
    rows: list[dict[str, str]], loose: bool, keep_raw: bool = False
) -> tuple[dict[str, Any], str]:
    """Key/value rows as a mapping (a row with neither key nor value is skipped), and the
    message of the first row that cannot be read."""
    mapping: dict[str, Any] = {}
    for position, row in enumerate(rows):
        key, text = row.get("key", ""), row.get("value", "")
        if not key.strip() and text == "":
            continue
        if not key.strip() and not keep_raw:
            return mapping, f"{row_number(position)}: give this value a name."
        name = key.strip()
        if name in mapping and not keep_raw:
            return mapping, f"{row_number(position)}: the name “{name}” is used twice."
        mapping[name] = read_loose(text, "") if loose else text
    return mapping, ""


def show_pairs(value: Any, loose: bool) -> list[dict[str, str]]:
    if not isinstance(value, Mapping):
        return []
    return [
        {"key": str(k), "value": show_loose(v, BLANK) if loose else str(v)}
        for k, v in value.items()
    ]


def read_items(
    rows: list[dict[str, str]], integer: bool, keep_raw: bool = False
) -> tuple[list[Any], str]:
    """A list's rows (an empty row is skipped; type `""` for an empty text)."""
    items: list[Any] = []
    for position, row in enumerate(rows):
        text = row.get("value", "")
        if text.strip() == "":
            continue
        if integer:
            try:
                items.append(int(text.strip()))
            except ValueError:
                if not keep_raw:
                    return items, f"{row_number(position)}: enter a whole number."
                items.append(text)
        else:
            items.append(read_loose(text))
    return items, ""


def show_items(value: Any, integer: bool) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    return [{"value": str(v) if integer else show_loose(v, BLANK)} for v in value]


CONDITION_PARTS = ("left", "operator", "right")


def read_conditions(
    rows: list[dict[str, str]], operators: tuple[str, ...], unary: frozenset[str]
) -> tuple[list[dict[str, Any]], str]:
    """The condition builder's rows: left · operator · right (None for a unary operator)."""
    conditions: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        left, operator, right = (row.get(part, "") for part in CONDITION_PARTS)
        if left == "" and right == "" and operator in ("", operators[0]):
            continue  # a blank row
        if operator not in operators:
            return conditions, f"Condition {position + 1}: choose how to compare."
        conditions.append(
            {
                "left": read_loose(left),
                "operator": operator,
                "right": None if operator in unary else read_loose(right),
            }
        )
    return conditions, ""


def show_conditions(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    rows = []
    for item in value:
        if isinstance(item, Mapping):
            rows.append(
                {
                    "left": show_loose(item.get("left")),
                    "operator": str(item.get("operator") or ""),
                    "right": show_loose(item.get("right")),
                }
            )
    return rows
