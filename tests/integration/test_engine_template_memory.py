"""Memory bombs in a step's config end as step errors, in a real worker, without the memory.

On SQLite the worker runs in this process, so tracemalloc sees every allocation of the render;
on PostgreSQL it is a `dramatiq app.tasks` process, whose peak resident size (VmHWM, reset
before each run through /proc/<pid>/clear_refs) is read from /proc.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_harness import Engine, engine_fixture

CAP = 1024 * 1024  # STEPLINE_MAX_PAYLOAD_BYTES as the harness leaves it: the output cap
MEMORY_BOUND = CAP * 4 + 50 * 1024 * 1024

BOMBS = [
    ("{{ (['x'*900000]*300)|join|length }}", "the filter 'join' would make a text"),
    ("{{ (['x'*900000]*2000)|join|length }}", "the filter 'join' would make a text"),
    ("{{ ('x'*1000)|replace('x','y'*300000) }}", "the filter 'replace' would make a text"),
    ("{{ ('x\n'*3000)|indent(100000) }}", "the filter 'indent' would make a text"),
    ("{{ '%s%s%s'|format('x'*400000, 'y'*400000, 'z'*400000) }}", "the filter 'format'"),
    ("{{ ('x'*60000)|wordwrap(1, true, 'y'*1000) }}", "the filter 'wordwrap'"),
    ("{{ ','.join(['x'*900000]*300) }}", "str.join would make a text"),
    ("{{ ('x'*600000) ~ ('y'*600000) }}", "`~` would make a text"),
    ("{{ (['x'*900000]*3) * 1000000 }}", "`*` would make a list"),
    (
        "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}"
        "{% set ns.l = [ns.l, 'x'*99999 ~ i] %}{% endfor %}{{ 1 }}",
        "bytes of values",
    ),
    ("a{{ self }}", "`self` is a template object (TemplateReference)"),
]


@pytest.fixture(scope="module")
def engine(
    backend: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from engine_fixture(backend, database_url, tmp_path_factory.mktemp("memory"), lease=30)


def _worker_process(engine: Engine) -> Path:
    """/proc of the process that runs steps: the child of the `dramatiq` main process."""
    (main,) = engine.workers
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == main.pid:
            return stat.parent
    raise AssertionError("the dramatiq worker process has no child")


def _kb(proc: Path, field: str) -> int:
    for line in (proc / "status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def _run(engine: Engine, message: str) -> tuple[str, str, float]:
    workflow_id = engine.workflow(
        {"name": "memory", "steps": [{"key": "say", "type": "log", "config": {"message": message}}]}
    )
    (execution,) = engine.wait(engine.trigger(workflow_id, {"x": 1}))
    step = engine.steps(execution.id)[0]
    if step.started_at is None or step.finished_at is None:
        return execution.status, step.error or "", -1.0
    took = (step.finished_at - step.started_at).total_seconds()
    return execution.status, step.error or "", took


@pytest.mark.parametrize(("template", "named"), BOMBS, ids=[b[0][:40] for b in BOMBS])
def test_a_memory_bomb_is_a_step_error_and_the_worker_keeps_its_memory(
    engine: Engine, template: str, named: str
) -> None:
    # Given a warm worker
    assert _run(engine, "warm {{ trigger.x }}")[:2] == ("completed", "")
    proc = _worker_process(engine) if engine.mode == "redis" else None
    if proc is not None:
        (proc / "clear_refs").write_text("5")  # resets VmHWM to the current resident size
        before = _kb(proc, "VmRSS")
    else:
        tracemalloc.start()

    # When a step's config holds the bomb
    try:
        status, error, took = _run(engine, template)
        grown = _kb(proc, "VmHWM") - before if proc else tracemalloc.get_traced_memory()[1]
    finally:
        if proc is None:
            tracemalloc.stop()

    # Then the step fails naming what refused it, quickly, and memory stayed bounded
    assert status == "failed"
    assert error.startswith("config.message: ") and named in error
    assert 0 <= took < 2.0
    assert grown < MEMORY_BOUND, f"{grown / 1e6:.1f} MB"
    assert _run(engine, "still {{ trigger.x }}")[:2] == ("completed", "")
