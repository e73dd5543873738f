"""The layers of the design, as rules on the imports read from the source (STYLE A2, J5).

    web | api | hooks | ops          entry points: pages, JSON API, webhook ingress, operations
    services                         use cases
    engine : actions : triggers : google : credentials   the core
    net                              the guarded outbound client
    models

A module imports from its own layer and the layers below, never from a layer above; the entry
points never import each other (`|`), the core's packages may (`:`). The core never imports
Flask, `app.extensions`, the services or an entry point; the services never import Flask or
`app.extensions` (they are handed a session and settings). Every import counts: in function
bodies and under `if TYPE_CHECKING:` too (a type-only dependency on a higher layer is still one).
A failure names each forbidden import by file and line.

`lint-imports` (make lint) checks the same contracts from pyproject.toml, including indirect
chains through modules outside the layers; the last test keeps the two in step.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from typing import Any

from tests.import_graph import APP, Import, all_imports

ENTRY_POINTS = ("app.web", "app.api", "app.ingress", "app.ops")
SERVICES = ("app.services",)
CORE = ("app.engine", "app.actions", "app.triggers", "app.google", "app.credentials")
LAYERS = (ENTRY_POINTS, SERVICES, CORE, ("app.net",), ("app.models",))
INDEPENDENT = (ENTRY_POINTS,)  # layers whose packages never import each other
CORE_AND_BELOW = (*CORE, "app.net", "app.models")
FLASK = (
    "flask",
    "flask_htmx",
    "flask_limiter",
    "flask_login",
    "flask_migrate",
    "flask_sqlalchemy",
    "flask_wtf",
)
WERKZEUG = ("werkzeug",)  # in the core; services still raise werkzeug's NotFound
ALLOWED_FROM_FLASK = ("werkzeug.security",)  # password hashing, none of the request machinery
ABOVE_THE_CORE = ("app.extensions", *ENTRY_POINTS, *SERVICES)
NOT_IN_THE_CORE = (*FLASK, *WERKZEUG, *ABOVE_THE_CORE)
NOT_IN_SERVICES = (*FLASK, "app.extensions")


def _within(name: str, packages: Iterable[str]) -> str | None:
    """The package of `packages` that `name` is, or lies inside."""
    return next((p for p in packages if name == p or name.startswith(p + ".")), None)


def _layer(name: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if _within(name, layer)), None)


def layer_offences(imports: Iterable[Import]) -> list[str]:
    """Each import that goes up a layer, or across between independent packages."""
    offences = []
    for each in imports:
        source, target = _layer(each.module), _layer(each.target)
        if source is None or target is None:
            continue
        if target < source:
            offences.append(f"{each}: {_within(each.module, LAYERS[source])} is below it")
        elif target == source and LAYERS[source] in INDEPENDENT:
            home, other = _within(each.module, LAYERS[source]), _within(each.target, LAYERS[source])
            if home != other:
                offences.append(f"{each}: {home} and {other} are independent")
    return offences


def forbidden(imports: Iterable[Import], sources: Iterable[str], names: Iterable[str]) -> list[str]:
    """Each import by a module of `sources` of one of `names` (or a module inside one)."""
    sources, names = tuple(sources), tuple(names)
    return [
        str(each)
        for each in imports
        if _within(each.module, sources)
        and _within(each.target, names)
        and not _within(each.target, ALLOWED_FROM_FLASK)
    ]


def _contracts() -> dict[str, dict[str, Any]]:
    pyproject = tomllib.loads((APP.parent / "pyproject.toml").read_text())
    return {c["id"]: c for c in pyproject["tool"]["importlinter"]["contracts"]}


# --- the rules, on app/ -------------------------------------------------------------------------


def test_no_module_imports_from_a_layer_above_or_an_independent_sibling() -> None:
    assert layer_offences(all_imports()) == []


def test_the_core_imports_no_flask_nor_anything_above_it() -> None:
    assert forbidden(all_imports(), CORE_AND_BELOW, NOT_IN_THE_CORE) == []


def test_services_import_no_flask_nor_the_extensions() -> None:
    assert forbidden(all_imports(), SERVICES, NOT_IN_SERVICES) == []


def test_the_import_linter_contracts_say_the_same() -> None:
    contracts = _contracts()
    assert contracts["layers"]["layers"] == [
        (" | " if layer in INDEPENDENT else " : ").join(layer) for layer in LAYERS
    ]
    core = contracts["core-without-flask"]
    assert core["source_modules"] == list(CORE_AND_BELOW)
    assert set(core["forbidden_modules"]) == set(NOT_IN_THE_CORE)
    services = contracts["services-without-flask"]
    assert services["source_modules"] == list(SERVICES)
    assert set(services["forbidden_modules"]) == set(NOT_IN_SERVICES)


# --- the rules catch what they should -----------------------------------------------------------


def _import(module: str, target: str, line: int = 3) -> Import:
    return Import(module, module.replace(".", "/") + ".py", line, target, type_checking=False)


def test_an_import_up_a_layer_is_named_with_its_file_and_line() -> None:
    imports = [
        _import("app.actions.gmail_send", "app.services.connection_tokens", 20),
        _import("app.models.users", "app.engine.errors", 7),
        _import("app.services.workflows.crud", "app.models"),  # down: allowed
        _import("app.actions.slack", "app.engine.context"),  # within the core: allowed
        _import("app.crypto", "app.web"),  # outside the layers: not this rule's business
    ]
    assert layer_offences(imports) == [
        "app/actions/gmail_send.py:20 imports app.services.connection_tokens: "
        "app.actions is below it",
        "app/models/users.py:7 imports app.engine.errors: app.models is below it",
    ]


def test_entry_points_importing_each_other_are_named() -> None:
    imports = [_import("app.web.pages", "app.api.auth"), _import("app.web.pages", "app.web.forms")]
    assert layer_offences(imports) == [
        "app/web/pages.py:3 imports app.api.auth: app.web and app.api are independent"
    ]


def test_flask_in_the_core_is_named_and_password_hashing_is_not() -> None:
    imports = [
        _import("app.engine.runner", "flask"),
        _import("app.triggers.webhook", "werkzeug.local"),
        _import("app.google.tokens", "app.services.connections.store"),
        _import("app.models.users", "werkzeug.security"),
        _import("app.web.pages", "flask"),
    ]
    assert forbidden(imports, CORE_AND_BELOW, NOT_IN_THE_CORE) == [
        "app/engine/runner.py:3 imports flask",
        "app/triggers/webhook.py:3 imports werkzeug.local",
        "app/google/tokens.py:3 imports app.services.connections.store",
    ]
