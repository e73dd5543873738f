"""The core (engine, actions, triggers, models) never imports Flask (STYLE A2)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
CORE = ["engine", "actions", "triggers", "models"]
FORBIDDEN = ("flask", "flask_", "werkzeug.local", "app.extensions", "app.web", "app.api")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_core_modules_import_no_flask() -> None:
    offenders = []
    for package in CORE:
        for path in sorted((APP / package).rglob("*.py")):
            for name in _imports(path):
                if name.startswith(FORBIDDEN):
                    offenders.append(f"{path.relative_to(APP.parent)} imports {name}")
    assert offenders == []
