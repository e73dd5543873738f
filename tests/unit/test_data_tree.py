"""The typed tree view (templates/_data_tree.html): every JSON type gets its badge, objects and
lists fold, and text is escaped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"


def render(value: Any, **options: Any) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    macro = env.get_template("_data_tree.html").module.data_tree  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", str(macro(value, "Output", **options)))


def leaf(key: str, kind: str, shown: str) -> str:
    return (
        f'<span class="dt-key">{key}</span> <span class="dt-type dt-type-{kind}">{kind}</span>'
        f' <span class="dt-value dt-{kind}'
    ) + (f'">{shown}</span>' if shown else "")


def test_each_json_type_has_its_badge() -> None:
    html = render({"name": "Ada", "total": 42, "paid": True, "note": None, "ratio": 0.5})

    assert leaf("name", "string", "Ada") in html
    assert leaf("total", "number", "42") in html
    assert leaf("paid", "boolean", "true") in html
    assert leaf("note", "null", "null") in html
    assert leaf("ratio", "number", "0.5") in html


def test_objects_and_lists_fold_with_their_size() -> None:
    html = render({"customer": {"email": "a@x.io"}, "items": [1, 2, 3], "tags": []}, open_depth=1)

    assert (
        '<details class="dt-node"> <summary><span class="dt-key">customer</span>'
        ' <span class="dt-type dt-type-object">object</span> <span class="dt-count">1 field</span>'
    ) in html
    assert 'dt-type-list">list</span> <span class="dt-count">3 items</span>' in html
    assert 'dt-type-list">list</span> <span class="dt-count">0 items</span>' in html
    assert leaf("0", "number", "1") in html  # list items are numbered from 0, as templates read
    assert leaf("email", "string", "a@x.io") in html


def test_levels_above_open_depth_start_open() -> None:
    html = render({"a": {"b": {"c": 1}}}, open_depth=2)

    assert html.count('<details class="dt-node" open>') == 1
    assert html.count('<details class="dt-node">') == 1


def test_text_is_escaped_and_long_collections_are_cut() -> None:
    html = render({"html": "<b>hi</b>", "many": list(range(5)), "empty": ""}, limit=3)

    assert "&lt;b&gt;hi&lt;/b&gt;" in html and "<b>hi</b>" not in html
    assert "… 2 more not shown" in html
    assert "(empty text)" in html


def test_a_value_that_is_not_an_object_is_shown_under_the_label() -> None:
    assert 'dt-key">Output</span> <span class="dt-type dt-type-list">list</span>' in render([1])
    assert "No fields." in render({})


def test_with_copy_the_tree_is_marked_for_copy_buttons_and_stays_light() -> None:
    html = render({"order": {"items": [{"sku": "A1"}]}, "total": 3}, copy=True)

    # data.js adds the buttons as levels unfold: the markup itself carries none
    assert '<div class="data-tree dt-copyable" aria-label="Output" role="group">' in html
    assert "<button" not in html
    assert render({"total": 3}, copy=True).replace(" dt-copyable", "") == render({"total": 3})
    # a value that is not an object sits under the label, marked as the root (no key of its own)
    assert '<li data-root><div class="dt-leaf"><span class="dt-key">Output</span>' in render(
        "Ada", copy=True
    )
