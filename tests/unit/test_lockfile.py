"""requirements.lock (the production image's exact versions) covers pyproject's dependencies:
each is pinned, to a version its specifier allows, with hashes. `make lock` rewrites it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _locked() -> dict[str, list[tuple[str, str]]]:
    """Locked package → [(version, marker)], one entry per platform line."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            pins.setdefault(canonicalize_name(name), []).append((version, marker or ""))
    return pins


def test_every_dependency_is_locked_to_a_version_it_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked()

    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        for version, _marker in locked[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name}=={version} does not satisfy {requirement}: run `make lock`"
            )


def test_every_pin_is_exact_and_hashed() -> None:
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(blocks) == sum(len(pins) for pins in _locked().values())
    for block in blocks:
        assert "==" in block.splitlines()[0], block
        assert "--hash=sha256:" in block, block
