"""The sandboxed renderer: values, types, undefined paths, limits."""

from __future__ import annotations

import time

import pytest

from app.engine.errors import TemplateError
from app.engine.template_budget import bounded
from app.engine.templating import Renderer

VARS = {
    "trigger": {"a": "{{ 7*7 }}", "n": 3, "items": [1, 2], "q": 'x"&#\n'},
    "steps": {"s": {"y": 2}},
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(cpu_seconds=1.0, max_output=100_000)


def test_data_is_inserted_never_rendered_again(renderer: Renderer) -> None:
    assert renderer.render("{{ trigger.a }}!", VARS, "f") == "{{ 7*7 }}!"


def test_a_single_expression_keeps_its_type_unless_text_is_asked(renderer: Renderer) -> None:
    assert renderer.render("{{ trigger.n * 2 }}", VARS, "f") == 6
    assert renderer.render("{{ trigger.items }}", VARS, "f") == [1, 2]
    assert renderer.render("{{ trigger.n }}", VARS, "f", text=True) == "3"


def test_mapping_fields_win_over_methods(renderer: Renderer) -> None:
    assert renderer.render("{{ trigger.items | length }}", VARS, "f") == 2


def test_nested_structures_render_leaf_by_leaf(renderer: Renderer) -> None:
    value = {"body": {"q": "{{ trigger.q }}", "list": ["{{ steps.s.y }}", 5]}}
    assert renderer.render(value, VARS, "config") == {"body": {"q": 'x"&#\n', "list": [2, 5]}}


def test_a_missing_path_names_the_field_and_what_exists(renderer: Renderer) -> None:
    with pytest.raises(TemplateError, match=r"config\.x: no field 'z' \(available: y\)"):
        renderer.render("{{ steps.s.z }}", VARS, "config.x")


def test_syntax_errors_are_reported_with_their_field(renderer: Renderer) -> None:
    assert renderer.check({"a": ["ok", "{{ broken"]}, "steps.0.config") == [
        (
            "steps.0.config.a.1",
            "template syntax error: unexpected end of template, expected 'end of print statement'.",
        )
    ]


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 'a' * 10000000 }}",
        "{{ [0] * 10000000 }}",
        "{{ 'x'.ljust(10000000) }}",
        "{{ '{:>10000000}'.format(1) }}",
        "{{ '%10000000d' % 1 }}",
        "{{ '%*d' % (10000000, 1) }}",
        "{{ 'x' | center(10000000) }}",
        "{{ 2 ** 10000000 }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        "{% for i in range(100000) %}{{ 'abcdefghij' }}{% endfor %}",
    ],
)
def test_resource_bombs_are_refused_within_the_budget(renderer: Renderer, source: str) -> None:
    # CPU time of this thread, not wall time: the budget is CPU, and a loaded machine must not
    # make the test flaky. The renderer's budget here is 1 s.
    started = time.thread_time()
    with pytest.raises(TemplateError):
        renderer.render(source, VARS, "f")
    assert time.thread_time() - started < 1.5


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ trigger.n * 2 }}", True),
        ("order-{{ steps.s.y }} totals {{ trigger['n'] + 1 }}", True),
        ("{{ trigger.items[0:1] ~ 'x' if trigger.n > 2 and not trigger.a else -1 }}", True),
        ("{% if trigger.n %}{{ {'a': [1, (2, 3)]} }}{% endif %}", True),
        ("{% for i in trigger.items %}{{ i }}{% endfor %}", False),
        ("{{ trigger.items | join(',') }}", False),
        ("{{ trigger.q.upper() }}", False),
        ("{{ trigger.n is odd }}", False),
        ("{{ range(3) }}", False),
        ("{% set x = 1 %}{{ x }}", False),
        ("{% macro m() %}{% endmacro %}", False),
    ],
)
def test_only_templates_that_cannot_loop_or_call_run_without_the_cpu_tracer(
    source: str, expected: bool
) -> None:
    renderer = Renderer(cpu_seconds=1.0)
    assert bounded(renderer.env.parse(source)) is expected


def test_a_template_that_can_loop_still_stops_at_its_cpu_budget() -> None:
    renderer = Renderer(cpu_seconds=0.2)
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x"
    started = time.thread_time()
    with pytest.raises(TemplateError, match=r"longer than 0\.2 s of CPU"):
        renderer.render(loop, VARS, "f")
    assert time.thread_time() - started < 5
