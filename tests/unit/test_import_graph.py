"""The import graph of `app/` has no cycle, function-level imports included.

The graph is built from the source by `tests/import_graph.py` (read it for what counts as an
edge): every import the code can execute is an edge, wherever it stands, and `from pkg import
name` reaches the submodule `pkg.name` when that is a module. Imports under `if TYPE_CHECKING:`
are left out: they never execute, so they cannot hold a cycle together at run time (the layer
rules in test_architecture.py do count them). There is no list of tolerated cycles: a cycle is
fixed, not recorded. A failure prints each cycle as a chain of module names, `a → b → c → a`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import cycles, describe, import_graph


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_app_has_no_import_cycle() -> None:
    found = cycles(import_graph())
    if found:
        pytest.fail(
            f"{len(found)} import cycle(s) in app/ (imports in function bodies count):\n"
            + describe(found),
            pytrace=False,
        )


def test_the_graph_sees_the_app_whole() -> None:
    # Given the real app/, the builder finds its modules and the edges between them
    graph = import_graph()
    assert {"app.engine.runner", "app.web.editor.page", "app.models"} <= set(graph)
    # `from app.web.editor import forms, panels` reaches the submodules, not the package
    assert {"app.web.editor.forms", "app.web.editor.panels"} <= graph["app.web.editor.page"]
    assert "app.web.editor" not in graph["app.web.editor.page"]
    # `from app.models import Connection` reaches the package
    assert "app.models" in graph["app.google.tokens"]
    assert sum(len(targets) for targets in graph.values()) > 300


def test_function_level_imports_are_edges_and_type_checking_ones_are_not(tmp_path: Path) -> None:
    # Given a module that imports one sibling in a function and another only for type checking
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from pkg import c\n"
                "else:\n"
                "    import pkg.d\n"
                "def f():\n"
                "    from pkg.b import thing\n"
            ),
            "pkg/b.py": "thing = 1\n",
            "pkg/c.py": "",
            "pkg/d.py": "",
        },
    )
    # When the graph is built
    graph = import_graph(root)
    # Then the function-level and else-branch imports count, the TYPE_CHECKING one does not
    assert graph["pkg.a"] == {"pkg.b", "pkg.d"}


def test_from_package_import_resolves_to_the_submodule_or_the_package(tmp_path: Path) -> None:
    # Given `from pkg.sub import mod, name` and relative imports
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "from . import mod\nname = 1\n",
            "pkg/sub/mod.py": "from .. import other\nfrom . import name\n",
            "pkg/other.py": "from pkg.sub import mod, name\nimport json\n",
        },
    )
    # When the graph is built
    graph = import_graph(root)
    # Then a submodule is reached as itself, a name through its package; json is not in pkg
    assert graph["pkg.sub"] == {"pkg.sub.mod"}
    assert graph["pkg.sub.mod"] == {"pkg.other", "pkg.sub"}
    assert graph["pkg.other"] == {"pkg.sub.mod", "pkg.sub"}


def test_a_cycle_is_reported_as_a_chain(tmp_path: Path) -> None:
    # Given a blueprint package whose route module imports `bp` from the package's __init__,
    # and a three-module cycle held together by a function-level import
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/web/__init__.py": "bp = object()\nfrom pkg.web import routes\n",
            "pkg/web/routes.py": "from pkg.web import bp\n",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": "from pkg import c\n",
            "pkg/c.py": "def f():\n    from pkg.a import x\n",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    # When its cycles are listed
    found = cycles(import_graph(root))
    # Then each is a chain from a module back to itself; d, outside any cycle, is not named
    assert describe(found) == "pkg.web → pkg.web.routes → pkg.web\npkg.a → pkg.b → pkg.c → pkg.a"


def test_every_module_of_a_component_is_on_a_reported_cycle(tmp_path: Path) -> None:
    # Given two cycles that share a module (a ↔ b and b → c → b)
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": "import pkg.a\nimport pkg.c\n",
            "pkg/c.py": "import pkg.b\n",
        },
    )
    # Then both are reported, each once
    assert cycles(import_graph(root)) == [
        ["pkg.a", "pkg.b", "pkg.a"],
        ["pkg.b", "pkg.c", "pkg.b"],
    ]


def test_a_package_importing_its_modules_is_no_cycle(tmp_path: Path) -> None:
    # Given the blueprint in a module of its own, imported by the routes and by the package
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/web/__init__.py": "from pkg.web import routes\nfrom pkg.web.blueprint import bp\n",
            "pkg/web/blueprint.py": "bp = object()\n",
            "pkg/web/routes.py": "from pkg.web.blueprint import bp\n",
        },
    )
    # Then there is nothing to report
    assert cycles(import_graph(root)) == []
