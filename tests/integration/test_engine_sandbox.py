"""Templates are sandboxed and bounded: escapes and bombs become step errors; the worker lives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine_harness import Engine, engine_fixture


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("sandbox"), lease=30)


def _run_message(engine: Engine, message: str) -> tuple[str, str]:
    workflow_id = engine.workflow(
        {
            "name": "sandbox",
            "steps": [{"key": "say", "type": "log", "config": {"message": message}}],
        }
    )
    (execution,) = engine.wait(engine.trigger(workflow_id, {"x": 1}))
    step = engine.steps(execution.id)[0]
    return execution.status, step.error or ""


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ ''.__class__.__mro__ }}", "not allowed in a template"),
        ("{{ cycler.__init__.__globals__ }}", "not allowed in a template"),
        ("{{ config }}", "'config' is undefined"),
        ("{{ request.environ }}", "'request' is undefined"),
        ("{{ ''.format.__globals__ }}", "not allowed in a template"),
        ("{{ '{0.__class__}'.format(1) }}", "not allowed in a template"),
    ],
)
def test_escapes_are_step_errors(engine: Engine, template: str, expected: str) -> None:
    status, error = _run_message(engine, template)

    assert status == "failed"
    assert expected in error
    assert "<class" not in error and "SECRET" not in error


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}",
        "{{ 'x' | center(100000000) }}",
        "{{ 2 ** 100000000 }}",
    ],
)
def test_resource_bombs_fail_fast_and_the_worker_stays_healthy(
    engine: Engine, template: str
) -> None:
    # (the CPU budget itself is shown in tests/unit/test_templating.py)
    status, error = _run_message(engine, template)

    assert status == "failed"
    assert error.startswith("config.message:")
    assert _run_message(engine, "still {{ trigger.x }}") == ("completed", "")
