"""The imports of `app/`, read from the source with `ast` (nothing is imported), for the
architecture tests: who imports what, on which line, and the cycles of the graph.

Every `import` and `from … import …` counts wherever it stands (module level, inside a function
or a method, under `try:`): an import in a function body still runs, only later. Imports in the
body of `if TYPE_CHECKING:` are marked `type_checking`; they never execute (annotations are
strings, `from __future__ import annotations`), so the cycle graph leaves them out, while the
layer rules count them (a type-only dependency on a higher layer is still one). The `else:`
branch of such an `if` does execute.

`from pkg import name` imports the submodule `pkg.name` when that is a module, and `pkg` (its
`__init__`) otherwise. Importing `pkg.sub` also runs `pkg/__init__.py`, but that implied edge is
not counted (as in import-linter): a package that imports its own modules, and modules that import
their siblings by full name, are the ordinary shape of a package, not a cycle. What is a cycle is
a module importing a *name* from its package's `__init__` (`from app.web import bp`) while that
`__init__` imports the module.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


@dataclass(frozen=True)
class Import:
    """One imported module: `target` is a module of the package when it names one, else the
    dotted name as written (`flask`, `werkzeug.security`)."""

    module: str
    file: str
    line: int
    target: str
    type_checking: bool

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.target}"


def module_names(root: Path = APP) -> dict[str, Path]:
    """Every module under the package directory `root`, by dotted name (`app.web.auth`)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, and whether it sits in the body of an `if TYPE_CHECKING:`."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, type_checking = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_checking
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend((child, True) for child in node.body)
            stack.extend((child, type_checking) for child in node.orelse)
        else:
            stack.extend((child, type_checking) for child in ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, known: set[str], file: str = "") -> list[Import]:
    """What module `name` (at `path`, shown as `file`) imports, in line order; `known` are the
    package's modules."""
    is_package = path.name == "__init__.py"
    found = []
    for node, type_checking in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in dict.fromkeys(targets):
            if target != name:
                found.append(Import(name, file or str(path), node.lineno, target, type_checking))
    return sorted(found, key=lambda each: (each.line, each.target))


def all_imports(root: Path = APP) -> list[Import]:
    """Every import of every module under `root`."""
    modules = module_names(root)
    known = set(modules)
    return [
        each
        for name, path in modules.items()
        for each in imports_of(name, path, known, str(path.relative_to(root.parent)))
    ]


def import_graph(root: Path = APP) -> dict[str, set[str]]:
    """Module name → the modules of the package it imports at run time (TYPE_CHECKING left out)."""
    graph: dict[str, set[str]] = {name: set() for name in module_names(root)}
    for each in all_imports(root):
        if not each.type_checking and each.target in graph:
            graph[each.module].add(each.target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def _shortest_cycle(graph: dict[str, set[str]], start: str, within: set[str]) -> list[str]:
    """The shortest path start → … → start inside `within` (breadth-first)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph[node] & within):
            if successor == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [*reversed(chain), start]
            if successor not in previous:
                previous[successor] = node
                queue.append(successor)
    raise AssertionError(f"{start} is in a component but on no cycle")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """For each strongly connected component, the shortest cycle through each of its modules,
    each cycle once (rotated to start at its smallest name), as `[a, b, …, a]`, shortest first."""
    found: dict[tuple[str, ...], list[str]] = {}
    for component in strongly_connected(graph):
        members = set(component)
        for module in component:
            chain = _shortest_cycle(graph, module, members)[:-1]
            first = chain.index(min(chain))
            rotated = chain[first:] + chain[:first]
            found.setdefault(tuple(rotated), [*rotated, rotated[0]])
    return sorted(found.values(), key=lambda chain: (len(chain), chain))


def describe(chains: Iterable[list[str]]) -> str:
    """One cycle a line, `a → b → c → a`."""
    return "\n".join(" → ".join(chain) for chain in chains)
