"""The methods templates may call on values, each checked against the size cap before it builds.

A whitelist: `"a".upper()` works, `"a".encode()` does not exist for templates. Each entry
computes the size of its result from the receiver and the arguments before calling the method.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedFormatter

from app.engine.template_filters import case_size, line_count, take
from app.engine.template_limits import Guard, format_size, replace_size

Check = Callable[..., Any]  # (guard, receiver, *args, **kwargs): raises when too large


def _none(guard: Guard, obj: Any, *args: Any, **kwargs: Any) -> None:
    """Reads only: a number, a boolean or a part of the receiver."""


def _same_size(guard: Guard, obj: str, *args: Any, **kwargs: Any) -> None:
    guard.text(len(obj), "str.strip", obj)


def _case(name: str) -> Check:
    def check(guard: Guard, obj: str, *args: Any) -> None:
        guard.text(case_size(obj), f"str.{name}", obj)

    return check


def _padded(name: str) -> Check:
    def check(guard: Guard, obj: str, width: Any = 0, fillchar: Any = " ") -> None:
        guard.argument(width, f"str.{name}")
        width = width if isinstance(width, int) else 0
        guard.text(max(len(obj), width), f"str.{name}", obj, fillchar)

    return check


def _expandtabs(guard: Guard, obj: str, tabsize: Any = 8) -> None:
    guard.argument(tabsize, "str.expandtabs")
    size = tabsize if isinstance(tabsize, int) else 8
    guard.text(len(obj) + obj.count("\t") * max(size, 0), "str.expandtabs", obj)


def _replace(guard: Guard, obj: str, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(old, str) and isinstance(new, str) and isinstance(count, int):
        guard.text(replace_size(obj, old, new, count), "str.replace", obj, new)


def _join(guard: Guard, obj: str, iterable: Any) -> list[Any]:
    parts = take(guard, iterable, "str.join")
    texts = [p for p in parts if isinstance(p, str)]
    size = sum(len(p) for p in texts) + len(obj) * max(len(parts) - 1, 0)
    guard.text(size, "str.join", obj, texts)
    return parts


def _split(guard: Guard, obj: str, sep: Any = None, maxsplit: Any = -1) -> None:
    if isinstance(sep, str) and sep:
        parts = obj.count(sep) + 1
    elif obj.isascii():
        parts = sum(obj.count(c) for c in " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f") + 1
    else:
        parts = len(obj) // 2 + 1
    if isinstance(maxsplit, int) and maxsplit >= 0:
        parts = min(parts, maxsplit + 1)
    guard.items(parts, "str.split", parts)
    guard.reserve(len(obj) * (1 if obj.isascii() else 4), "str.split")


def _splitlines(guard: Guard, obj: str, keepends: Any = False) -> None:
    parts = line_count(obj)
    guard.items(parts, "str.splitlines", parts)
    guard.reserve(len(obj) * (1 if obj.isascii() else 4), "str.splitlines")


def _partition(guard: Guard, obj: str, sep: Any) -> None:
    guard.items(3, "str.partition", 3)
    guard.text(len(obj), "str.partition", obj)


def _format(guard: Guard, obj: str, *args: Any, **kwargs: Any) -> None:
    guard.text(format_size(guard, obj, args, kwargs, "str.format"), "str.format", obj, *args)


_STR: dict[str, Check] = {
    **{
        name: _case(name)
        for name in ("capitalize", "casefold", "lower", "swapcase", "title", "upper")
    },
    **{name: _padded(name) for name in ("center", "ljust", "rjust", "zfill")},
    **{name: _same_size for name in ("lstrip", "rstrip", "strip", "removeprefix", "removesuffix")},
    **{
        name: _none
        for name in (
            "count endswith find index rfind rindex startswith isalnum isalpha isascii "
            "isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle "
            "isupper"
        ).split()
    },
    "expandtabs": _expandtabs,
    "format": _format,
    "join": _join,
    "partition": _partition,
    "replace": _replace,
    "rpartition": _partition,
    "rsplit": _split,
    "split": _split,
    "splitlines": _splitlines,
}
_SEQUENCE: dict[str, Check] = {"count": _none, "index": _none}
_LOOP: dict[str, Check] = {"cycle": _none, "changed": _none}


def _dict_view(name: str) -> Check:
    def check(guard: Guard, obj: dict[Any, Any]) -> None:
        guard.items(len(obj), f"dict.{name}", len(obj) if name == "items" else 0)

    return check


_DICT: dict[str, Check] = {
    "get": _none,
    "keys": _dict_view("keys"),
    "values": _dict_view("values"),
    "items": _dict_view("items"),
}


def _table(obj: Any) -> dict[str, Check] | None:
    if type(obj) is str:
        return _STR
    if isinstance(obj, list | tuple):
        return _SEQUENCE
    if isinstance(obj, dict):
        return _DICT
    if isinstance(obj, LoopContext):
        return _LOOP
    return None


def lookup(env: Any, obj: Any, name: str) -> Callable[..., Any] | None:
    """A checked method `obj.name`, None when `obj` has no such method for templates, or raise
    SecurityError for a method that exists but is not available."""
    table = _table(obj)
    if table is None:
        return None
    check = table.get(name)
    if check is None:
        if callable(getattr(obj, name, None)):
            raise SecurityError(f"{type(obj).__name__}.{name} is not available in templates")
        return None
    method = getattr(obj, name)
    guard: Guard = env.guard

    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        what = f"{type(obj).__name__}.{name}()"
        for value in (*args, *kwargs.values()):
            guard.argument(value, what)
        replaced = check(guard, obj, *args, **kwargs)
        if replaced is not None:  # the check consumed a lazy argument: pass what it read
            args = (replaced,)
        if name == "format":
            formatter = SandboxedFormatter(env)
            return guard.keep(formatter.vformat(obj, args, kwargs))
        if isinstance(obj, dict) and name in ("keys", "values", "items"):
            return guard.keep(list(method()))
        return guard.keep(method(*args, **kwargs))

    checked.stepline_checked = True  # type: ignore[attr-defined]
    return checked


def is_checked(obj: Any) -> bool:
    return getattr(obj, "stepline_checked", False) is True
