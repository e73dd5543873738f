"""The structured widgets' values: rows of a key/value list, a list, a condition builder, and
the body editor, both as they are shown and as a form posts them.

A row's inputs are indexed (`config.headers-0-key`, `config.headers-0-value`); the index only
pairs a row's inputs (digits from the server, letters and digits for rows the page adds), their
order in the post is the rows' order (the page reorders rows by moving them, without
renumbering). A condition builder's group is a row with a `match` and rows of its own:
`config.conditions-1-match`, `config.conditions-1-conditions-0-left`.

A value that may be of any JSON type is written as JSON when it reads as JSON and as plain
text otherwise, so that a template stays as typed and a number stays a number: `42` is the
number, `"42"` the text, `{{ trigger.id }}` the text.
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
    pattern = re.compile(rf"^{re.escape(name)}-([A-Za-z0-9]+)-")
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
MATCHES = ("all", "any")


def posted_conditions(form: Mapping[str, str], name: str) -> list[dict[str, Any]]:
    """A condition builder's rows exactly as typed: a condition is {left, operator, right},
    a group (its row posts a `match`) is {match, conditions: [its conditions' rows]}."""
    found: list[dict[str, Any]] = []
    for index in indexes(form, name):
        row = f"{name}-{index}"
        if f"{row}-match" in form:
            inner = posted_rows(form, f"{row}-conditions", CONDITION_PARTS)
            found.append({"match": form.get(f"{row}-match", ""), "conditions": inner})
        else:
            found.append({part: form.get(f"{row}-{part}", "") for part in CONDITION_PARTS})
    return found


def _condition(
    row: Mapping[str, Any], operators: tuple[str, ...], unary: frozenset[str]
) -> dict[str, Any] | str | None:
    """One condition row read: the condition, None for a blank row, or what is wrong."""
    left, operator, right = (str(row.get(part, "")) for part in CONDITION_PARTS)
    if left == "" and right == "" and operator in ("", operators[0]):
        return None
    if operator not in operators:
        return "choose how to compare."
    return {
        "left": read_loose(left),
        "operator": operator,
        "right": None if operator in unary else read_loose(right),
    }


def read_conditions(
    rows: list[dict[str, Any]],
    operators: tuple[str, ...],
    unary: frozenset[str],
    groups: bool = False,
) -> tuple[list[dict[str, Any]], str]:
    """The condition builder's rows: left · operator · right (None for a unary operator), and
    with `groups`, groups of them ({match, conditions}); a blank row or group is skipped."""
    conditions: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        if "conditions" in row:
            where = f"Group {position + 1}"
            if not groups:
                return conditions, f"{where}: groups cannot be used here."
            inner: list[dict[str, Any]] = []
            for number, item in enumerate(row["conditions"], start=1):
                read = _condition(item, operators, unary)
                if isinstance(read, str):
                    return conditions, f"{where}, condition {number}: {read}"
                if read is not None:
                    inner.append(read)
            if not inner:
                continue  # a blank group
            if row.get("match") not in MATCHES:
                return conditions, f"{where}: choose all (AND) or any (OR)."
            conditions.append({"match": row["match"], "conditions": inner})
            continue
        read = _condition(row, operators, unary)
        if isinstance(read, str):
            return conditions, f"Condition {position + 1}: {read}"
        if read is not None:
            conditions.append(read)
    return conditions, ""


def _shown_condition(item: Mapping[str, Any]) -> dict[str, str]:
    return {
        "left": show_loose(item.get("left")),
        "operator": str(item.get("operator") or ""),
        "right": show_loose(item.get("right")),
    }


def show_conditions(value: Any) -> list[dict[str, Any]]:
    """What the builder shows for stored conditions: a row per condition, and per group
    {match, conditions: [rows]}."""
    if not isinstance(value, list):
        return []
    rows: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("conditions"), list):
            inner = [_shown_condition(c) for c in item["conditions"] if isinstance(c, Mapping)]
            rows.append({"match": str(item.get("match") or "all"), "conditions": inner})
        else:
            rows.append(_shown_condition(item))
    return rows


def condition_place(rest: str) -> str | None:
    """Where a message about a condition builder's item is, in words: `1.conditions.0.left` →
    "Group 2, condition 1, value to check"; None when `rest` is not inside a group."""
    match = re.fullmatch(r"(\d+)\.(match|conditions)(?:\.(\d+))?(?:\.(\w+))?", rest)
    if match is None:
        return None
    group, part, number, field = match.groups()
    words = [f"Group {int(group) + 1}"]
    if part == "match":
        words.append("all or any")
    if number is not None:
        words.append(f"condition {int(number) + 1}")
    if field:
        words.append(CONDITION_WORDS.get(field, field.replace("_", " ")))
    return ", ".join(words)


CONDITION_WORDS = {
    "left": "value to check",
    "right": "value to compare with",
    "operator": "comparison",
}
