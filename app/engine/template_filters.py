"""The filters and tests templates may use, each checked against the size cap before it builds.

A whitelist: a filter or test missing here does not exist in templates. Filters that can grow
their input compute the size of their result from their inputs first (`Guard.text`/`items`);
filters that only pick, count or shrink pass their input through `Guard.str_of`, so template
objects and containers too large to write are refused before any text is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import filters as jf
from jinja2 import tests as jt
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.utils import _PassArg, htmlsafe_json_dumps, pass_context, pass_environment, url_quote
from markupsafe import Markup, escape

from app.engine.template_limits import (
    ITEM_BYTES,
    MAX_INT_ARGUMENT,
    Guard,
    json_size,
    percent_size,
    replace_size,
)

Env = Any  # the SandboxEnvironment (its `guard` attribute); typed loosely to avoid a cycle
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_SPACES = " \t\n\r\x0b\x0c"


def line_count(text: str) -> int:
    """Upper bound of `len(text.splitlines()) + 1`."""
    return sum(text.count(c) for c in _LINE_BREAKS) + 1


def case_size(text: str) -> int:
    """Upper bound of the length after a case change (one character may become three)."""
    return len(text) if text.isascii() else 3 * len(text)


def _str(guard: Guard, value: Any, what: str) -> str:
    text = guard.str_of(value, what, f"the value given to {what}")
    return text if type(text) is str else str.__str__(text)


def take(guard: Guard, value: Any, what: str) -> list[Any]:
    """`list(value)`, counting the items while a lazy sequence is consumed."""
    if isinstance(value, str | range):
        new = 0 if isinstance(value, str) and value.isascii() else len(value)
        guard.items(len(value), what, new)
        return list(value)
    if hasattr(value, "__len__"):
        guard.items(len(value), what)
        return list(value)
    items: list[Any] = []  # a lazy sequence's items may be new objects: counted as such
    for item in value:
        items.append(item)
        if len(items) % 4096 == 0:
            guard.items(len(items), what, len(items))
    guard.items(len(items), what, len(items))
    return items


def _text_filter(name: str, size: Callable[[str], int], func: Callable[[str], Any]) -> Any:
    @pass_environment
    def checked(env: Env, value: Any) -> Any:
        what = f"the filter {name!r}"
        text = _str(env.guard, value, what)
        env.guard.text(size(text), what, text)
        return env.guard.keep(func(text))

    return checked


@pass_environment
def do_join(env: Env, value: Iterable[Any], d: Any = "", attribute: Any = None) -> str:
    guard: Guard = env.guard
    what = "the filter 'join'"
    if attribute is not None:
        value = map(make_attrgetter(env, attribute), value)
    separator = _str(guard, d, what)
    parts: list[str] = []
    total, wide = 0, not separator.isascii()
    for item in value:
        text = _str(guard, item, f"an item given to {what}")
        total += len(text) + (len(separator) if parts else 0)
        wide = wide or not text.isascii()
        if total > guard.max_output:
            guard.text(total, what)
        parts.append(text)
        if len(parts) % 4096 == 0:
            guard.items(len(parts), what)
    guard.text(total, what, "\u0100" if wide else "")
    return guard.keep(separator.join(parts))


@pass_environment
def do_replace(env: Env, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    what = "the filter 'replace'"
    text, old, new = (_str(env.guard, v, what) for v in (s, old, new))
    limit = -1 if count is None else count
    env.guard.text(replace_size(text, old, new, limit), what, text, new)
    return env.guard.keep(text.replace(old, new, limit))


@pass_environment
def do_indent(
    env: Env, s: Any, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    what = "the filter 'indent'"
    text = _str(env.guard, s, what)
    env.guard.argument(width, what)
    indention = _str(env.guard, width, what) if isinstance(width, str) else " " * width
    lines = line_count(text)
    env.guard.text(len(text) + len(indention) * (lines + 1), what, text, indention)
    env.guard.reserve(lines * ITEM_BYTES, what)
    return env.guard.keep(jf.do_indent(text, indention, first, blank))


@pass_environment
def do_center(env: Env, value: Any, width: int = 80) -> str:
    text = _str(env.guard, value, "the filter 'center'")
    env.guard.text(max(len(text), width), "the filter 'center'", text)
    return env.guard.keep(text.center(width))


@pass_environment
def do_format(env: Env, value: Any, *args: Any, **kwargs: Any) -> str:
    what = "the filter 'format'"
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments at the same time")
    template = _str(env.guard, value, what)
    params: Any = kwargs or args
    env.guard.text(percent_size(env.guard, template, params, what), what, template, *args)
    return env.guard.keep(template % params)


@pass_environment
def do_wordwrap(
    env: Env,
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    what = "the filter 'wordwrap'"
    text = _str(env.guard, s, what)
    if len(text) > MAX_INT_ARGUMENT:  # textwrap is Python code the CPU budget cannot stop
        raise SecurityError(f"{what} takes at most {MAX_INT_ARGUMENT} characters")
    joiner = _str(env.guard, env.newline_sequence if wrapstring is None else wrapstring, what)
    words = sum(text.count(c) for c in _SPACES) + text.count("-") + 1
    lines = len(text) // max(width, 1) + words + 1
    env.guard.text(len(text) + len(joiner) * lines, what, text, joiner)
    env.guard.reserve(3 * lines * ITEM_BYTES, what)
    wrapped = jf.do_wordwrap(env, text, width, break_long_words, joiner, break_on_hyphens)
    return env.guard.keep(wrapped)


@pass_environment
def do_truncate(
    env: Env,
    s: Any,
    length: int = 255,
    killwords: bool = False,
    end: str = "...",
    leeway: int | None = None,
) -> str:
    what = "the filter 'truncate'"
    text, end = _str(env.guard, s, what), _str(env.guard, end, what)
    if length < len(end) or (leeway is not None and leeway < 0):
        raise FilterArgumentError(f"{what} needs a length of at least {len(end)}")
    env.guard.text(len(text) + len(end), what, text, end)
    return env.guard.keep(jf.do_truncate(env, text, length, killwords, end, leeway))


def _escape_size(text: str) -> int:
    grows = 4 * (text.count("&") + text.count('"') + text.count("'"))
    return len(text) + grows + 3 * (text.count("<") + text.count(">"))


@pass_environment
def do_escape(env: Env, value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    text = _str(env.guard, value, "the filter 'escape'")
    env.guard.text(_escape_size(text), "the filter 'escape'", text)
    return env.guard.keep(escape(text))


@pass_environment
def do_forceescape(env: Env, value: Any) -> Markup:
    return do_escape(env, str(value) if isinstance(value, Markup) else value)


@pass_environment
def do_urlencode(env: Env, value: Any) -> str:
    what = "the filter 'urlencode'"
    if isinstance(value, str) or not isinstance(value, Iterable):
        pairs = None
        texts = [_str(env.guard, value, what)]
    else:
        items = value.items() if isinstance(value, Mapping) else value
        pairs = [(_str(env.guard, k, what), _str(env.guard, v, what)) for k, v in items]
        texts = [t for pair in pairs for t in pair]
    wide = any(not t.isascii() for t in texts)
    env.guard.text(sum((12 if wide else 3) * len(t) + 2 for t in texts), what)
    if pairs is None:
        return env.guard.keep(url_quote(texts[0]))
    joined = "&".join(f"{url_quote(k, for_qs=True)}={url_quote(v, for_qs=True)}" for k, v in pairs)
    return env.guard.keep(joined)


@pass_environment
def do_tojson(env: Env, value: Any, indent: int | None = None) -> Markup:
    what = "the filter 'tojson'"
    env.guard.argument(indent, what)
    env.guard.text(json_size(value, env.guard.max_output, what, indent or 0), what, value)
    options = dict(env.policies["json.dumps_kwargs"], indent=indent)
    dumped = htmlsafe_json_dumps(value, dumps=env.policies["json.dumps_function"], **options)
    return env.guard.keep(dumped)


@pass_environment
def do_string(env: Env, value: Any) -> str:
    return env.guard.str_of(value, "the filter 'string'")


@pass_environment
def do_reverse(env: Env, value: Any) -> Any:
    if isinstance(value, str):
        env.guard.text(len(value), "the filter 'reverse'", value)
        return env.guard.keep(value[::-1])
    if isinstance(value, list | tuple):
        return reversed(value)
    return env.guard.keep(take(env.guard, value, "the filter 'reverse'")[::-1])


@pass_environment
def do_list(env: Env, value: Any) -> list[Any]:
    return env.guard.keep(take(env.guard, value, "the filter 'list'"))


def _listing(name: str, func: Callable[..., Any], factor: int = 1) -> Any:
    """A filter that builds a list about as long as its input (sort, groupby, dictsort...)."""

    @pass_environment
    def checked(env: Env, value: Any, *args: Any, **kwargs: Any) -> Any:
        what = f"the filter {name!r}"
        items = value if isinstance(value, Mapping) else take(env.guard, value, what)
        env.guard.items(len(items) * factor, what, len(items) * (factor - 1))
        return env.guard.keep(func(env, items, *args, **kwargs))

    return checked


@pass_environment
def do_sum(env: Env, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    what = "the filter 'sum'"
    if attribute is not None:
        iterable = map(make_attrgetter(env, attribute), iterable)
    total = start
    for item in iterable:
        if not isinstance(item, int | float) or not isinstance(total, int | float):
            raise SecurityError(f"{what} adds numbers only")
        total += item
    return total


def _picking(func: Callable[..., Any], name: str) -> Any:
    """A filter whose text input is read, not copied: template objects are still refused."""

    @pass_environment
    def checked(env: Env, value: Any, *args: Any, **kwargs: Any) -> Any:
        return func(_str(env.guard, value, f"the filter {name!r}"), *args, **kwargs)

    return checked


def _dictsort(env: Env, value: Any, *args: Any, **kwargs: Any) -> Any:
    return jf.do_dictsort(value, *args, **kwargs)


def _unique(env: Env, value: Any, *args: Any, **kwargs: Any) -> Any:
    return list(jf.sync_do_unique(env, value, *args, **kwargs))


_FILTERS: dict[str, Any] = {
    # picking, counting, converting: nothing larger than the input
    "abs": abs,
    "attr": pass_environment(lambda env, obj, name: env.getattr(obj, str(name))),
    "batch": jf.do_batch,
    "count": len,
    "d": jf.do_default,
    "default": jf.do_default,
    "filesizeformat": jf.do_filesizeformat,
    "first": jf.sync_do_first,
    "float": jf.do_float,
    "int": jf.do_int,
    "items": jf.do_items,
    "last": jf.do_last,
    "length": len,
    "map": jf.sync_do_map,
    "max": jf.do_max,
    "min": jf.do_min,
    "random": jf.do_random,
    "reject": jf.sync_do_reject,
    "rejectattr": jf.sync_do_rejectattr,
    "round": jf.do_round,
    "select": jf.sync_do_select,
    "selectattr": jf.sync_do_selectattr,
    "slice": jf.sync_do_slice,
    "safe": _picking(Markup, "safe"),
    "striptags": _picking(lambda s: Markup(s).striptags(), "striptags"),
    "trim": _picking(jf.do_trim, "trim"),
    "wordcount": _picking(jf.do_wordcount, "wordcount"),
    "sum": do_sum,
    # building text: checked from their inputs first
    "capitalize": _text_filter("capitalize", case_size, str.capitalize),
    "center": do_center,
    "e": do_escape,
    "escape": do_escape,
    "forceescape": do_forceescape,
    "format": do_format,
    "indent": do_indent,
    "join": do_join,
    "lower": _text_filter("lower", case_size, str.lower),
    "replace": do_replace,
    "reverse": do_reverse,
    "string": do_string,
    "title": _text_filter("title", case_size, jf.do_title),
    "tojson": do_tojson,
    "truncate": do_truncate,
    "upper": _text_filter("upper", case_size, str.upper),
    "urlencode": do_urlencode,
    "wordwrap": do_wordwrap,
    # building lists
    "dictsort": _listing("dictsort", _dictsort, factor=2),
    "groupby": _listing("groupby", jf.sync_do_groupby, factor=3),
    "list": do_list,
    "sort": _listing("sort", jf.do_sort),
    "unique": _listing("unique", _unique),
}


def _checked_arguments(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """Refuses integer arguments (widths, counts, sizes) over MAX_INT_ARGUMENT. The filter
    takes the render's context, so Jinja never runs it at compile time (constant folding would
    build its result outside every budget, into the compiled code)."""
    wants = _PassArg.from_obj(func)

    @pass_context
    def checked(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        for argument in (*args, *kwargs.values()):
            if isinstance(argument, int) and not isinstance(argument, bool):
                if abs(argument) > MAX_INT_ARGUMENT:
                    raise SecurityError(
                        f"an argument of the filter {name!r} is too large (over {MAX_INT_ARGUMENT})"
                    )
        if wants is _PassArg.context:
            return func(context, value, *args, **kwargs)
        if wants is _PassArg.eval_context:
            return func(context.eval_ctx, value, *args, **kwargs)
        if wants is _PassArg.environment:
            return func(context.environment, value, *args, **kwargs)
        return func(value, *args, **kwargs)

    checked.__name__ = checked.__qualname__ = f"filter_{name}"
    return checked


FILTERS = {name: _checked_arguments(func, name) for name, func in _FILTERS.items()}


def _text_test(func: Callable[[str], bool], name: str) -> Any:
    @pass_environment
    def checked(env: Env, value: Any) -> bool:
        return func(_str(env.guard, value, f"the test {name!r}"))

    return checked


TESTS: dict[str, Any] = {
    name: jt.TESTS[name]
    for name in (
        "odd even divisibleby defined undefined filter test none boolean false true integer "
        "float string mapping number sequence iterable callable sameas escaped in "
        "== eq equalto != ne > gt greaterthan >= ge < lt lessthan <= le"
    ).split()
}
TESTS["lower"] = _text_test(str.islower, "lower")
TESTS["upper"] = _text_test(str.isupper, "upper")
