"""Sandboxed rendering of step configs, with CPU and size limits.

Jinja2's `ImmutableSandboxedEnvironment` blocks attribute walks to internals, but bounds
neither CPU nor memory. On top of it this module
- stops template code that runs longer than a CPU budget (a line tracer on template frames);
  a template that can neither loop nor call anything (`bounded`: each of its nodes runs at most
  once, and each operation's cost is bounded by its inputs, which the checks below bound) runs
  without the tracer, which costs more than such a template,
- checks every operation that can build a value before it builds it, from its inputs: operators
  here, filters and tests in `template_filters`, methods in `template_methods` (whitelists:
  anything else does not exist for templates), sizes and the per-render memory ledger in
  `template_limits`; a render holds at most a fixed multiple of the output cap,
- refuses template objects (`self`, `loop`, macros, undefined values...) wherever a value is
  written as text, naming the expression,
- stops output beyond the size cap while it is generated.
Values from the trigger and earlier steps are data: they are inserted, never rendered again.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import LoopContext, Macro, missing
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import Namespace
from markupsafe import Markup

from app.engine import template_budget, template_methods
from app.engine.errors import TemplateError
from app.engine.template_codegen import LimitedCodeGenerator
from app.engine.template_filters import FILTERS, TESTS, do_escape
from app.engine.template_limits import Guard, describe, percent_size
from app.engine.template_methods import is_checked

MARKERS = ("{{", "{%", "{#")
MAX_POWER_BITS = 4096
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|%\}).)*)\}\}\s*$", re.S)


class _Limits:
    """Per-environment budget; one renderer per worker process, shared by its threads."""

    def __init__(self, cpu_seconds: float, max_output: int) -> None:
        self.cpu_seconds = cpu_seconds
        self.max_output = max_output


class _Undefined(StrictUndefined):
    """Fails on any use, with a message that names the missing field and what exists."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is missing:
            return f"{self._undefined_name!r} is undefined"
        obj = self._undefined_obj
        if isinstance(obj, Mapping):
            keys = ", ".join(str(k) for k in list(obj)[:20]) or "none"
            return f"no field {self._undefined_name!r} (available: {keys})"
        return f"a {type(obj).__name__} value has no field {self._undefined_name!r}"


def _checked_global(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    checked.stepline_checked = True  # type: ignore[attr-defined]
    return checked


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with size checks on operators, filters, tests, methods and output.

    Filters, tests and methods are whitelists (`template_filters`, `template_methods`); any
    other callable attribute is refused, and only checked callables, macros and recursive
    loops may be called."""

    code_generator_class = LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, limits: _Limits) -> None:
        super().__init__(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
        self.limits = limits
        self.guard = Guard(limits.max_output)
        self.filters = dict(FILTERS)
        self.tests = dict(TESTS)
        self.globals = {
            "range": _checked_global(safe_range),
            "dict": _checked_global(self._dict),
            "namespace": _checked_global(self._namespace),
        }
        self.concat = self.limited_join  # type: ignore[method-assign]

    def _namespace(self, *args: Any, **kwargs: Any) -> Namespace:
        space = Namespace(*args, **kwargs)
        return self.guard.keep(space, 300 + 16 * len(kwargs) + sum(map(len, args)))

    def _dict(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        if args:
            raise TypeError("dict() takes keyword arguments only in templates")
        return self.guard.keep(dict(**kwargs))

    def written(self, expression: str, autoescape: bool, value: Any) -> str:
        """The text of a value written to the output; template objects are refused."""
        text = self.guard.str_of(value, f"`{expression}`")
        return do_escape(self, text) if autoescape else text

    def limited_concat(self, parts: Sequence[Any]) -> str:
        strings = [self.guard.str_of(part, "`~`", "a part of `~`") for part in parts]
        self.guard.text(sum(len(s) for s in strings), "`~`", *strings)
        return self.guard.keep("".join(strings))

    def sliced(self, obj: Any, part: slice) -> Any:
        if isinstance(obj, str | list | tuple):
            count = len(range(*part.indices(len(obj))))
            if isinstance(obj, str):
                self.guard.text(count, "a slice", obj)
            else:
                self.guard.items(count, "a slice")
            return self.guard.keep(obj[part])
        return self.getitem(obj, part)

    def limited_join(self, parts: Iterable[str]) -> str:
        """Joins the text a macro, call or `{% set %}` block wrote."""
        strings = list(parts)
        self.guard.text(sum(len(s) for s in strings), "a block", *strings[:1000])
        return self.guard.keep("".join(strings))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        what = f"`{operator}`"
        for value in (left, right):
            if isinstance(value, Undefined):
                str(value)  # raises the undefined error
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str) and isinstance(count, int):
                    self.guard.text(len(seq) * max(count, 0), what, seq)
                elif isinstance(seq, list | tuple) and isinstance(count, int):
                    self.guard.items(len(seq) * max(count, 0), what)
            if _is_int(left) and _is_int(right):
                self.guard.integer(abs(left).bit_length() + abs(right).bit_length(), what)
        elif operator == "**":
            if _is_int(left) and _is_int(right) and right > 0:
                if max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS:
                    raise SecurityError("a power is too large")
        elif operator == "%" and isinstance(left, str):
            size = percent_size(self.guard, left, right, what)
            self.guard.text(size * (5 if isinstance(left, Markup) else 1), what, left, right)
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                grows = 5 if isinstance(left, Markup) != isinstance(right, Markup) else 1
                self.guard.text((len(left) + len(right)) * grows, what, left, right)
            elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
                self.guard.items(len(left) + len(right), what)
            elif _is_int(left) and _is_int(right):
                self.guard.integer(max(left.bit_length(), right.bit_length()) + 1, what)
        return self.guard.keep(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not (is_checked(__obj) or isinstance(__obj, Macro | LoopContext)):
            kind = type(__obj).__name__
            raise SecurityError(f"a {kind} value cannot be called in a template")
        if not is_checked(__obj):  # checked callables name themselves
            for value in (*args, *kwargs.values()):
                __self.guard.argument(value, "a call")
        return __self.guard.keep(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: `trigger.items` means the field "items", not dict.items.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        try:
            method = template_methods.lookup(self, obj, attribute)
        except SecurityError as exc:
            return self.undefined(str(exc), obj=obj, name=attribute, exc=SecurityError)
        if method is not None:
            return self.guard.keep(method, 400)
        value = super().getattr(obj, attribute)
        if callable(value) and not isinstance(value, Undefined | Macro):
            hint = f"{type(obj).__name__}.{attribute} is not available in templates"
            return self.undefined(hint, obj=obj, name=attribute, exc=SecurityError)
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        try:
            return obj[argument]
        except (TypeError, LookupError):
            if isinstance(argument, str):
                return self.getattr(obj, argument)
        return self.undefined(obj=obj, name=argument)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_data(value: Any, where: str, expression: str) -> Any:
    """Make a native expression result JSON data, or fail naming the field and expression."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateError(f"{where}: `{expression}` gives {value}, which is not JSON")
        return value
    if isinstance(value, Undefined):
        str(value)  # raises the undefined error
    if isinstance(value, Mapping):
        return {str(k): _to_data(v, where, expression) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_data(v, where, expression) for v in value]
    raise TemplateError(f"{where}: `{expression}` gives {describe(value)}, not data")


def has_template(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


class Renderer:
    """Renders the strings of a step config against the context's variables."""

    def __init__(self, cpu_seconds: float = 2.0, max_output: int = 1_000_000) -> None:
        self.limits = _Limits(cpu_seconds, max_output)
        self.env = SandboxEnvironment(self.limits)
        self._template = functools.lru_cache(maxsize=2048)(self.env.from_string)
        self._expression = functools.lru_cache(maxsize=2048)(
            functools.partial(self.env.compile_expression, undefined_to_none=False)
        )
        self._bounded = functools.lru_cache(maxsize=2048)(self._is_bounded)

    def _is_bounded(self, source: str) -> bool:
        return template_budget.bounded(self.env.parse(source))

    def _runner(self, source: str) -> Callable[[Callable[[], Any]], Any]:
        """How to run `source`'s code: under the CPU budget unless it is `bounded`."""
        return (
            template_budget.run_unbudgeted
            if self._bounded(source)
            else template_budget.CpuBudget(self.limits.cpu_seconds).run
        )

    def check(self, value: Any, where: str) -> list[tuple[str, str]]:
        """Syntax-check every template string in `value`; return (field, message) problems."""
        if isinstance(value, str):
            if has_template(value):
                try:
                    self._template(value)
                except TemplateSyntaxError as exc:
                    return [(where, f"template syntax error: {exc.message}")]
            return []
        problems: list[tuple[str, str]] = []
        if isinstance(value, Mapping):
            for key, item in value.items():
                problems += self.check(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                problems += self.check(item, f"{where}.{index}")
        return problems

    def render(
        self, value: Any, variables: Mapping[str, Any], where: str, text: bool = False
    ) -> Any:
        """Render every string in `value`. A string that is exactly one `{{ expression }}`
        keeps the expression's type unless `text` is set."""
        if isinstance(value, str):
            return (
                self._render_string(value, variables, where, text) if has_template(value) else value
            )
        if isinstance(value, Mapping):
            return {k: self.render(v, variables, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, variables, f"{where}.{i}") for i, v in enumerate(value)]
        return value

    def _render_string(
        self, source: str, variables: Mapping[str, Any], where: str, text: bool
    ) -> Any:
        try:
            with self.env.guard.render():
                single = None if text else _SINGLE_EXPRESSION.match(source)
                if single:
                    text_of = single.group("expr").strip()
                    expression = self._expression(single.group("expr"))
                    result = self._runner(source)(lambda: expression(**variables))
                    self._check_output(result, where, text_of)
                    return _to_data(result, where, text_of)
                template = self._template(source)
                return self._runner(source)(lambda: self._generate(template, variables, where))
        except TemplateError:
            raise
        except template_budget.Timeout:
            raise TemplateError(
                f"{where}: the template ran longer than {self.limits.cpu_seconds:g} s of CPU"
            ) from None
        except SecurityError as exc:
            raise TemplateError(f"{where}: not allowed in a template: {exc}") from None
        except TemplateSyntaxError as exc:
            raise TemplateError(f"{where}: template syntax error: {exc.message}") from None
        except JinjaTemplateError as exc:
            raise TemplateError(f"{where}: {exc.message or exc}") from None
        except (
            ArithmeticError,
            ValueError,
            TypeError,
            LookupError,
            MemoryError,
            RecursionError,
        ) as exc:
            raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None

    def _generate(self, template: Any, variables: Mapping[str, Any], where: str) -> str:
        size = 0
        chunks: list[str] = []
        pending: list[str] = []  # joined every 256 chunks: many tiny strings cost 50 bytes each
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > self.limits.max_output:
                raise TemplateError(
                    f"{where}: the rendered text is over {self.limits.max_output} characters"
                )
            pending.append(chunk)
            if len(pending) == 256:
                chunks.append("".join(pending))
                pending.clear()
        return "".join(chunks + pending)

    def _check_output(self, data: Any, where: str, expression: str) -> None:
        """The value's length as text (JSON-like), counted without building it."""
        if isinstance(data, str):
            size = len(data)
        elif isinstance(data, dict | list | tuple):
            size = self.env.guard.data_size(data, f"`{expression}`")
        else:
            return
        if size > self.limits.max_output:
            raise TemplateError(f"{where}: the value is over {self.limits.max_output} characters")


def template_at(config: Any, loc: Sequence[int | str]) -> bool:
    """True when the value at `loc` in `config` (or a string above it) is a template: its
    final value is only known once rendered, so model validation of that field waits."""
    value = config
    for part in loc:
        if isinstance(value, str):
            break
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and has_template(value)
