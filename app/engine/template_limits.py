"""Memory bounds for template rendering: sizes are checked before a value is built.

Every operation the sandbox allows that can build a value (operators, filters, methods,
literals, text conversions) asks the `Guard` first, from its inputs:
- no single value may be longer than the output cap (characters, or items for a list),
- the values a render has built and still holds may not take more than a fixed multiple of
  the output cap in bytes (the `Ledger`: it counts what each render built, and forgets a value
  once nothing else holds it, using reference counts).
Values that are not text or data (template objects: `self`, `loop`, macros, namespaces,
generators...) are never written as text: they are an error naming the expression.
"""

from __future__ import annotations

import re
import string
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError

# Largest integer a filter or method argument may carry (widths, counts); also Jinja's range cap.
MAX_INT_ARGUMENT = 100_000
MAX_INT_BITS = 4096
MEMORY_MULTIPLE = 8  # a render may hold at most this many bytes per character of output cap
ITEM_BYTES = 64  # what one new small object (a line, a pair, a part) costs, with its slot
_SCALARS = (bool, int, float, type(None))
_ENTRY_BYTES = 160  # the ledger's own entry for a value it counts (dict slot, tuple, key)


class Ledger:
    """What one render has built and still holds, in bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self.held: dict[int, tuple[Any, int]] = {}

    def reserve(self, size: int, what: str) -> None:
        if self.total + size > self.limit:
            self._sweep()
            if self.total + size > self.limit:
                raise SecurityError(
                    f"{what} would make the template hold more than {self.limit} bytes of values"
                )

    def keep(self, value: Any, size: int) -> None:
        key = id(value)
        if key not in self.held:
            self.held[key] = (value, size)
            self.total += size
            if self.total > self.limit:  # values no operation checked first (literals...)
                self.reserve(0, "a value")

    def _sweep(self) -> None:
        """Forget the values nothing but the ledger holds. Newest first: a container is newer
        than what it holds, so once it is gone its items are free in the same pass. The keys
        are copied, not the entries, so a forgotten value is released at once."""
        for _ in range(3):  # values stored into older ones (namespaces) need another pass
            freed = 0
            for key in reversed(list(self.held)):
                entry = self.held[key]
                if _references(entry) <= _ONLY_HELD:
                    del self.held[key]
                    self.total -= entry[1]
                    freed += 1
            if not freed:
                return


def _references(entry: tuple[Any, int]) -> int:
    return sys.getrefcount(entry[0])


_ONLY_HELD = _references((object(), 0))


def describe(value: Any) -> str:
    if isinstance(value, Undefined):
        return "an undefined value"
    kind = type(value).__name__
    if kind.endswith("iterator") or kind == "generator":
        return f"a lazy sequence ({kind}; add `| list`)"
    return f"a template object ({kind})"


class Guard:
    """The size checks of one environment; the ledger is per render (per thread)."""

    def __init__(self, max_output: int) -> None:
        self.max_output = max_output
        self.memory = max_output * MEMORY_MULTIPLE
        self._local = threading.local()

    @contextmanager
    def render(self) -> Iterator[Ledger]:
        ledger = Ledger(self.memory)
        previous = getattr(self._local, "ledger", None)
        self._local.ledger = ledger
        try:
            yield ledger
        finally:
            self._local.ledger = previous

    @property
    def ledger(self) -> Ledger | None:
        return getattr(self._local, "ledger", None)

    # -- checks before building -----------------------------------------------------------

    def text(self, chars: int, what: str, *inputs: Any) -> None:
        """A string of `chars` characters is about to be built from `inputs`."""
        if chars > self.max_output:
            raise SecurityError(
                f"{what} would make a text of {chars} characters (the limit is {self.max_output})"
            )
        self.reserve(chars * _width(inputs) + 64, what)

    def items(self, count: int, what: str, new_objects: int = 0) -> None:
        """A list or tuple of `count` items (`new_objects` of them new) is about to be built."""
        if count > self.max_output:
            raise SecurityError(
                f"{what} would make a list of {count} items (the limit is {self.max_output})"
            )
        self.reserve(count * 8 + new_objects * ITEM_BYTES + 64, what)

    def reserve(self, size: int, what: str) -> None:
        ledger = self.ledger
        if ledger is not None:
            ledger.reserve(size, what)

    def integer(self, bits: int, what: str) -> None:
        if bits > MAX_INT_BITS:
            raise SecurityError(f"{what} would make a number of more than {MAX_INT_BITS} bits")

    def argument(self, value: Any, what: str) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_ARGUMENT:
            raise SecurityError(f"an argument of {what} is too large (over {MAX_INT_ARGUMENT})")

    # -- after building -------------------------------------------------------------------

    def keep(self, value: Any, size: int | None = None) -> Any:
        """Count a value the render built (its own size, or `size`) while anything holds it."""
        ledger = self.ledger
        if ledger is None or isinstance(value, _SCALARS):
            # numbers are small (the containers that could hold many of them are counted)
            if ledger is not None and isinstance(value, int) and value.bit_length() > 64:
                ledger.keep(value, sys.getsizeof(value) + _ENTRY_BYTES)
            return value
        ledger.keep(value, (sys.getsizeof(value) if size is None else size) + _ENTRY_BYTES)
        return value

    # -- text of a value ------------------------------------------------------------------

    def str_of(self, value: Any, what: str, subject: str | None = None) -> str:
        """`str(value)` for text and data, checked before it is built; template objects and
        undefined values are refused."""
        if isinstance(value, str):
            return value
        if isinstance(value, _SCALARS):
            return str(value)
        if isinstance(value, Undefined):
            str(value)  # raises the undefined error that names the field
        if isinstance(value, list | tuple | dict):
            self.text(repr_size(value, self.max_output, what), what, value)
            return self.keep(repr(value))
        raise SecurityError(f"{subject or what} is {describe(value)}, not text or data")

    def data_size(self, value: Any, what: str) -> int:
        """The length of a value written as text, stopping once it is over the cap."""
        return repr_size(value, self.max_output, what)


def _width(values: tuple[Any, ...]) -> int:
    """Bytes per character of a string built from `values` (CPython's compact strings)."""
    for value in values:
        if isinstance(value, str):
            if not value.isascii():
                return 4
        elif isinstance(value, list | tuple):
            if any(isinstance(v, str) and not v.isascii() for v in value[:1000]):
                return 4
        elif not isinstance(value, _SCALARS):
            return 4
    return 1


def _str_repr_size(value: str, limit: int) -> int:
    if type(value) is str and value.isascii() and value.isprintable():
        return len(value) + 2 + value.count("\\") + value.count("'")
    if len(value) > limit:
        return len(value)
    return len(repr(value))


def repr_size(value: Any, limit: int, what: str) -> int:
    """Length of `repr(value)` for data (containers of str, numbers, booleans, None), computed
    without building it and stopping as soon as it is over `limit`. Values shared many times
    count each time, as they would in the text."""
    sizes: dict[int, int] = {}

    def size(item: Any, budget: int) -> int:
        key = id(item)
        if key in sizes:
            return sizes[key]
        if isinstance(item, str):
            result = _str_repr_size(item, limit)
        elif isinstance(item, bool) or item is None:
            result = 5
        elif isinstance(item, int | float):
            result = len(repr(item))
        elif isinstance(item, Undefined):
            str(item)  # raises the undefined error
            result = 0
        elif isinstance(item, list | tuple | dict):
            result = 2
            keys = list(item) if isinstance(item, dict) else []
            for k in keys:
                result += size(k, budget - result) + 2
            for v in item.values() if isinstance(item, dict) else item:
                result += size(v, budget - result) + 2
                if result > budget:
                    return result  # over: not memoised, the caller stops too
        else:
            raise SecurityError(f"{what} holds {describe(item)}, not text or data")
        sizes[key] = result
        return result

    return size(value, limit)


_FORMAT_NUMBERS = re.compile(r"\d+")
_PER_FIELD = 400  # longest number formatting without a width: '%f' % 1e308 is 316 characters


def _numbers_in(spec: str) -> int:
    total = 0
    for match in _FORMAT_NUMBERS.finditer(spec):
        number = int(match.group())
        if number > MAX_INT_ARGUMENT:
            raise SecurityError("a format width or precision is too large")
        total += number
    return total


def _total_size(values: Iterable[Any], limit: int, what: str, largest: bool = False) -> int:
    """Sum (or maximum) of the text sizes of `values`, each distinct value measured once,
    stopping once over `limit`."""
    seen: dict[int, int] = {}
    total = 0
    for value in values:
        key = id(value)
        if key not in seen:
            seen[key] = repr_size(value, limit, what)
        total = max(total, seen[key]) if largest else total + seen[key]
        if total > limit:
            break
    return total


def percent_size(guard: Guard, template: str, args: Any, what: str) -> int:
    """Upper bound of `template % args`: each `%` spec takes one value (or, with a mapping,
    any value of it), plus its width and precision."""
    fields = template.count("%")
    limit = guard.max_output
    if isinstance(args, tuple):
        body = _total_size(args, limit, what)
        body += sum(abs(a) for a in args[:fields] if _small_int(a))
    elif isinstance(args, Mapping):
        largest = _total_size(args.values(), limit, what, largest=True)
        body = max(fields * largest, repr_size(args, limit, what))
    else:
        body = repr_size(args, limit, what)
    return len(template) + body + _numbers_in(template) + fields * _PER_FIELD


def _small_int(value: Any) -> bool:
    return isinstance(value, int) and abs(value) <= MAX_INT_ARGUMENT


def format_size(guard: Guard, template: str, args: tuple[Any, ...], kwargs: Any, what: str) -> int:
    """Upper bound of `template.format(*args, **kwargs)`: each replacement field writes at most
    the largest argument (or what it holds) plus its width and precision."""
    limit = guard.max_output
    largest = _total_size([*args, *kwargs.values()], limit, what, largest=True)
    total = 0
    for literal, field, spec, _conversion in string.Formatter().parse(template):
        total += len(literal)
        if field is not None:
            spec = spec or ""
            nested = MAX_INT_ARGUMENT if "{" in spec else 0
            total += largest + _numbers_in(spec) + nested + _PER_FIELD
        if total > limit:
            break
    return total


def replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    """Length of `text.replace(old, new, count)`: the number of matches times the growth."""
    matches = text.count(old) if old else len(text) + 1
    if count >= 0:
        matches = min(matches, count)
    return max(len(text) + matches * (len(new) - len(old)), 0)


_CONTROL = [chr(c) for c in range(32)]
_HTML_SAFE = "<>&'"  # written as \u00XX by the tojson filter


def _json_str_size(text: str) -> int:
    size = len(text) + 2 + text.count('"') + text.count("\\")
    size += 5 * sum(text.count(c) for c in _HTML_SAFE)
    if not text.isprintable():
        size += 5 * sum(text.count(c) for c in _CONTROL)
    if not text.isascii():  # \uXXXX, twice for characters beyond the BMP
        size += 11 * (len(text) - len(text.encode("ascii", "ignore")))
    return size


def json_size(value: Any, limit: int, what: str, indent: int = 0) -> int:
    """Upper bound of the tojson filter's text, stopping once it is over `limit`."""

    def size(item: Any, depth: int, budget: int) -> int:
        if isinstance(item, str):
            return _json_str_size(item)
        if isinstance(item, bool) or item is None:
            return 5
        if isinstance(item, int | float):
            return len(repr(item))
        if isinstance(item, list | tuple | dict):
            result = 2 + (indent * depth + 1 if indent else 0)
            each = indent * (depth + 1) + 1 if indent else 0
            for key in item if isinstance(item, dict) else ():
                result += size(str(key) if isinstance(key, int | float) else key, 0, budget) + 2
            for v in item.values() if isinstance(item, dict) else item:
                result += size(v, depth + 1, budget - result) + 2 + each
                if result > budget:
                    return result
            return result
        if isinstance(item, Undefined):
            str(item)  # raises the undefined error
        raise SecurityError(f"{what} cannot write {describe(item)} as JSON")

    return size(value, 0, limit)
