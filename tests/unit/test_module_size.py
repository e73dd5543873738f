"""No module in app/ is over 400 lines (issue 15): a longer one is split by responsibility."""

from __future__ import annotations

from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
LIMIT = 400


def test_no_module_in_app_is_over_the_limit() -> None:
    sizes = {
        str(path.relative_to(APP.parent)): len(path.read_text().splitlines())
        for path in sorted(APP.rglob("*.py"))
    }
    offenders = [f"{name}: {lines} lines" for name, lines in sizes.items() if lines > LIMIT]
    assert offenders == [], f"split these by responsibility (at most {LIMIT} lines each)"
    assert len(sizes) > 100  # the walk found app/'s modules
