"""The compiled form of step templates: where the sandbox's size checks hook in.

`~`, slices, list, tuple and dict literals and every value written to the text go through the
environment (`SandboxEnvironment.limited_concat`, `guard.keep`, `written`), so what Jinja's
own code generator would build unchecked is counted, and template objects are refused with
the expression they came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame


def describe_node(node: nodes.Node) -> str:
    """Short source-like text of an expression, for error messages."""
    if isinstance(node, nodes.Name):
        text = node.name
    elif isinstance(node, nodes.Const):
        text = repr(node.value)
    elif isinstance(node, nodes.Getattr):
        text = f"{describe_node(node.node)}.{node.attr}"
    elif isinstance(node, nodes.Getitem):
        text = f"{describe_node(node.node)}[{describe_node(node.arg)}]"
    elif isinstance(node, nodes.Filter):
        text = f"{describe_node(node.node) if node.node else '…'} | {node.name}"
    elif isinstance(node, nodes.Call):
        text = f"{describe_node(node.node)}(…)"
    elif isinstance(node, nodes.BinExpr):
        text = f"{describe_node(node.left)} {node.operator} {describe_node(node.right)}"
    elif isinstance(node, nodes.List | nodes.Tuple | nodes.Dict):
        text = (
            "[…]"
            if isinstance(node, nodes.List)
            else "(…)"
            if isinstance(node, nodes.Tuple)
            else "{…}"
        )
    elif isinstance(node, nodes.Concat):
        text = " ~ ".join(describe_node(n) for n in node.nodes)
    else:
        text = f"the expression on line {node.lineno}"
    return text if len(text) <= 80 else text[:79] + "…"


class LimitedCodeGenerator(CodeGenerator):
    """Routes `~`, literals and every value written to the text through the size guard."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.limited_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def _built(self, visit: Callable[..., None], node: nodes.Node, frame: Frame) -> None:
        self.write("environment.guard.keep(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._built(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._built(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":
            self._built(super().visit_Tuple, node, frame)
        else:
            super().visit_Tuple(node, frame)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        escaping = frame.eval_ctx.volatile or frame.eval_ctx.autoescape
        autoescape = "context.eval_ctx.autoescape" if escaping else "False"
        self.write(f"environment.written({describe_node(node)!r}, {autoescape}, ")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write(")")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):  # Jinja writes slices as `obj[a:b]`, unchecked
            super().visit_Getitem(node, frame)
            return
        self.write("environment.sliced(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for index, part in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            self.write(", " if index else "")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write("))")
