"""Sandboxed rendering of step configs, with CPU and size limits.

Jinja2's `ImmutableSandboxedEnvironment` blocks attribute walks to internals, but bounds
neither CPU nor memory. On top of it this module
- stops template code that runs longer than a CPU budget (a line tracer on template frames),
- refuses operations whose result would be over the size cap (`*`, `**`, `%`, `+`, `~`, and
  filter or method arguments that ask for huge widths or counts),
- stops output beyond the size cap while it is generated.
Values from the trigger and earlier steps are data: they are inserted, never rendered again.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.runtime import missing
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.engine.errors import TemplateError

MARKERS = ("{{", "{%", "{#")
# Largest integer a filter or method argument may carry (widths, counts); also Jinja's range cap.
MAX_INT_ARGUMENT = 100_000
MAX_POWER_BITS = 4096
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|%\}).)*)\}\}\s*$", re.S)
_FORMAT_WIDTH = re.compile(r"%[-#0 +]*(\d+)|\.(\d+)|\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")


class _Timeout(Exception):
    pass


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


class _LimitedCodeGenerator(CodeGenerator):
    """Routes `~` concatenation through a size check."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.limited_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _too_big(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_ARGUMENT


def _check_format_string(text: Any) -> None:
    if isinstance(text, str):
        for match in _FORMAT_WIDTH.finditer(text):
            for group in match.groups():
                if group and int(group) > MAX_INT_ARGUMENT:
                    raise SecurityError("a format width or precision is too large")


def _guard_filter(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    skip = 2 if getattr(func, "jinja_pass_arg", None) else 1  # context/env, then the value

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if any(_too_big(a) for a in args[skip:]) or any(_too_big(v) for v in kwargs.values()):
            raise SecurityError(f"an argument of filter {name!r} is too large")
        if name == "format" and len(args) >= skip:
            _check_format_string(args[skip - 1])
        return func(*args, **kwargs)

    return guarded


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with size checks on operators, filters and method calls."""

    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, limits: _Limits) -> None:
        super().__init__(undefined=_Undefined, autoescape=False, keep_trailing_newline=True)
        self.limits = limits
        self.filters = {name: _guard_filter(f, name) for name, f in self.filters.items()}
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)

    def _check_length(self, length: int) -> None:
        if length > self.limits.max_output:
            raise SecurityError(f"a value would exceed {self.limits.max_output} characters")

    def _checked(self, value: Any) -> Any:
        if isinstance(value, str | bytes | list | tuple):
            self._check_length(len(value))
        return value

    def limited_concat(self, parts: Sequence[Any]) -> str:
        strings = [str(part) for part in parts]
        self._check_length(sum(len(s) for s in strings))
        return "".join(strings)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    self._check_length(len(seq) * max(count, 0))
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS:
                    raise SecurityError("a power is too large")
        elif operator == "%":
            _check_format_string(left)
            values = right if isinstance(right, tuple) else (right,)
            if isinstance(left, str) and any(_too_big(v) for v in values):
                raise SecurityError("a format argument is too large")
        elif operator == "+" and isinstance(left, str | list | tuple):
            if isinstance(right, str | list | tuple):
                self._check_length(len(left) + len(right))
        return self._checked(super().call_binop(context, operator, left, right))

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if any(_too_big(a) for a in args) or any(_too_big(v) for v in kwargs.values()):
            raise SecurityError("a call argument is too large")
        return self._checked(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:  # `"...".format`: check the widths before anything is built
            _check_format_string(value.__self__)
        return wrapped

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: `trigger.items` means the field "items", not dict.items.
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


class _CpuBudget:
    """Raises inside template code once the rendering thread has used its CPU budget."""

    CHECK_EVERY = 512

    def __init__(self, seconds: float) -> None:
        self.deadline = time.thread_time() + seconds
        self.events = 0

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.events += 1
        if self.events % self.CHECK_EVERY == 0 and time.thread_time() > self.deadline:
            raise _Timeout()
        return self._local

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        return self._local if frame.f_code.co_filename == "<template>" else None

    def run(self, func: Callable[[], Any]) -> Any:
        previous = sys.gettrace()
        sys.settrace(self._global)
        try:
            return func()
        finally:
            sys.settrace(previous)


def _to_data(value: Any, where: str) -> Any:
    """Make a native expression result JSON data, or fail naming the field."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateError(f"{where}: the expression gives {value}, which is not JSON")
        return value
    if isinstance(value, Undefined):
        str(value)  # raises the undefined error
    if isinstance(value, Mapping):
        return {str(k): _to_data(v, where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_data(v, where) for v in value]
    raise TemplateError(f"{where}: the expression gives a {type(value).__name__}, not data")


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
            single = None if text else _SINGLE_EXPRESSION.match(source)
            if single:
                expression = self._expression(single.group("expr"))
                result = _CpuBudget(self.limits.cpu_seconds).run(lambda: expression(**variables))
                data = _to_data(result, where)
                self._check_output(data, where)
                return data
            template = self._template(source)
            return _CpuBudget(self.limits.cpu_seconds).run(
                lambda: self._generate(template, variables, where)
            )
        except TemplateError:
            raise
        except _Timeout:
            raise TemplateError(
                f"{where}: the template ran longer than {self.limits.cpu_seconds:g} s of CPU"
            ) from None
        except SecurityError as exc:
            raise TemplateError(f"{where}: not allowed in a template: {exc}") from None
        except TemplateSyntaxError as exc:
            raise TemplateError(f"{where}: template syntax error: {exc.message}") from None
        except JinjaTemplateError as exc:
            raise TemplateError(f"{where}: {exc.message or exc}") from None
        except (ArithmeticError, ValueError, TypeError, LookupError, MemoryError) as exc:
            raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from None

    def _generate(self, template: Any, variables: Mapping[str, Any], where: str) -> str:
        size = 0
        chunks = []
        for chunk in template.generate(**variables):
            size += len(chunk)
            if size > self.limits.max_output:
                raise TemplateError(
                    f"{where}: the rendered text is over {self.limits.max_output} characters"
                )
            chunks.append(chunk)
        return "".join(chunks)

    def _check_output(self, data: Any, where: str) -> None:
        if isinstance(data, str):
            size = len(data)
        elif isinstance(data, dict | list):
            size = len(json.dumps(data))
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
