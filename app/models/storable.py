"""Values that no JSON column can store, found before they reach the database.

PostgreSQL's `jsonb` refuses NaN and ±Infinity (JSON has neither), text holding U+0000, and text
that is not Unicode (an unpaired surrogate such as "\\ud800", which JSON's escapes can spell);
SQLite would keep some of them, and no other reader could use them. One rule everywhere: such a
value is refused where it enters (a webhook or API body: 400 naming its path; a step's output: a
step error naming the field), never stored, never a database error later.

`loads` parses JSON text keeping the literal of a number no float holds (`1e400`) and of the
constants `NaN`, `Infinity`, `-Infinity`, and raises `UnstorableError` naming the first such
value or unstorable text by its path; `find` does the same walk over data built in Python.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# The JSON escapes of U+0000 and of surrogates (U+D800 to U+DFFF).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


@dataclass(frozen=True)
class Unstorable:
    """Where an unstorable value is (`path`, dotted: `body.items.0.price`) and what it is."""

    path: str
    what: str

    def sentence(self, subject: str = "") -> str:
        """`subject` `path` is `what`, which cannot be stored."""
        where = f"`{self.path}`" if self.path else "the value"
        start = f"{subject} {where}" if subject else where
        return f"{start[0].upper()}{start[1:]} is {self.what}, which cannot be stored."


class UnstorableError(Exception):
    """A parsed document holds a value no JSON column stores (see `found`)."""

    def __init__(self, found: Unstorable) -> None:
        super().__init__(found.sentence())
        self.found = found


@dataclass(frozen=True)
class _Literal:
    """A JSON number or constant that no float holds, as it was written."""

    text: str


def _number(text: str) -> float | _Literal:
    value = float(text)
    return _Literal(text) if math.isinf(value) else value


def loads(raw: str | bytes, prefix: str = "") -> Any:
    """Parse JSON text; ValueError when it is not JSON (RecursionError when nested too deep),
    UnstorableError naming the first value that cannot be stored (paths start at `prefix`)."""
    literals: list[_Literal] = []

    def constant(text: str) -> _Literal:
        literals.append(_Literal(text))
        return literals[-1]

    def number(text: str) -> float | _Literal:
        parsed = _number(text)
        if isinstance(parsed, _Literal):
            literals.append(parsed)
        return parsed

    document = json.loads(raw, parse_constant=constant, parse_float=number)
    # Only an escape can put U+0000 or a surrogate into parsed text (raw ones are invalid JSON);
    # a surrogate escape may still be half of a valid pair, which the walk tells apart.
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if literals or _SUSPECT_ESCAPE.search(data):
        found = find(document, prefix)
        if found is not None:
            raise UnstorableError(found)
    return document


def check(value: Any, prefix: str = "") -> None:
    """Raise UnstorableError when `value` holds something no JSON column stores."""
    found = find(value, prefix)
    if found is not None:
        raise UnstorableError(found)


def find(value: Any, prefix: str = "") -> Unstorable | None:
    """The first value in `value` (document order) that no JSON column stores, or None."""
    if not _any_problem(value):  # the common case, without building a path per value
        return None
    for path, node in _walk(value, prefix):
        what = _problem(node)
        if what is not None:
            return Unstorable(path, what)
    return None


def dumps(value: Any, prefix: str = "") -> str:
    """`value` as JSON text (json.dumps), or UnstorableError naming what cannot be stored in it
    (paths start at `prefix`). Walks the value only when the text shows a reason to."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:  # NaN or ±Infinity
        check(value, prefix)
        raise
    if "\\u0000" in text or "\\ud" in text:  # NUL, or a surrogate (paired ones are fine)
        check(value, prefix)
    return text


def clean_text(text: str) -> str:
    """`text` with U+0000 and unpaired surrogates replaced by U+FFFD (for messages)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in text)
    return text


def _walk(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            children = []
            for key, child in node.items():
                where = _join(path, _shown(key))
                children.append((where, key))
                children.append((where, child))
            stack.extend(reversed(children))
        elif isinstance(node, list | tuple):
            stack.extend(
                reversed([(_join(path, str(index)), child) for index, child in enumerate(node)])
            )


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _shown(key: Any) -> str:
    """A key as a path shows it: NUL and surrogates as their JSON escapes."""
    text = str(key)
    if _problem(text) is None:
        return text
    return "".join(
        f"\\u{ord(char):04x}" if char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF else char
        for char in text
    )


def _any_problem(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str:
            if "\x00" in node or (not node.isascii() and _problem(node) is not None):
                return True
        elif kind is dict:
            stack.extend(node)
            stack.extend(node.values())
        elif kind is list or kind is tuple:
            stack.extend(node)
        elif kind is int or kind is bool or node is None:
            continue
        elif _problem(node) is not None:  # floats, literals, subclasses of the above
            return True
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


def _problem(node: Any) -> str | None:
    if isinstance(node, str):
        if "\x00" in node:
            return "text holding a NUL character (\\u0000)"
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            return "text holding an unpaired surrogate (such as \\ud800)"
        return None
    if isinstance(node, float):
        if math.isnan(node):
            return "NaN"
        if math.isinf(node):
            return "Infinity" if node > 0 else "-Infinity"
        return None
    if isinstance(node, _Literal):
        if node.text in ("NaN", "Infinity", "-Infinity"):
            return node.text
        return f"{node.text} (beyond the range of a float)"
    return None
