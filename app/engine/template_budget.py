"""A render's CPU budget: a line tracer on template frames that raises once the rendering
thread has used its budget, and the templates that need none (`bounded`: they can neither loop
nor call anything, so each node runs at most once and each operation costs what its inputs,
bounded by the renderer's checks, allow; the tracer would cost more than they do)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from jinja2 import nodes


class Timeout(Exception):
    """The rendering thread used its CPU budget."""


class CpuBudget:
    """Raises inside template code once the rendering thread has used its CPU budget."""

    CHECK_EVERY = 512

    def __init__(self, seconds: float) -> None:
        self.deadline = time.thread_time() + seconds
        self.events = 0

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.events += 1
        if self.events % self.CHECK_EVERY == 0 and time.thread_time() > self.deadline:
            raise Timeout()
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


# What a template may hold and still run without the CPU tracer: no loop, call, filter, test,
# macro or block; data lookups, operators (checked from their inputs), literals and `if`.
_BOUNDED_NODES = frozenset(
    {
        nodes.Template, nodes.Output, nodes.TemplateData, nodes.If,
        nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Const,
        nodes.Tuple, nodes.List, nodes.Dict, nodes.Pair,
        nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow,
        nodes.Neg, nodes.Pos, nodes.Not, nodes.And, nodes.Or,
        nodes.Compare, nodes.Operand, nodes.CondExpr, nodes.Concat,
    }
)  # fmt: skip


def bounded(tree: nodes.Template) -> bool:
    """Whether every node of `tree` is one of `_BOUNDED_NODES` (exactly those types)."""
    return type(tree) in _BOUNDED_NODES and all(
        type(node) in _BOUNDED_NODES for node in tree.find_all(nodes.Node)
    )


def run_unbudgeted(func: Callable[[], Any]) -> Any:
    return func()
