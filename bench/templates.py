"""Template rendering: the cost of the sandbox's checks on ordinary templates, and what the
memory bombs of tests/unit/test_template_memory.py cost before they are refused.

Prints, for each ordinary template, the CPU time per render (µs); for each bomb, the CPU time
until it is refused and the peak of Python allocations (tracemalloc) during the render.

    .venv/bin/python -m bench.templates [--renders 2000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from app.engine.errors import TemplateError
from app.engine.templating import Renderer
from tests.unit.test_template_memory import BOMBS, CAP

VARS = {
    "trigger": {
        "body": {"customer": {"email": "ada@example.com", "name": "Ada"}, "total": 42.5},
        "items": [{"sku": f"S{i}", "qty": i % 7, "name": f"item {i}"} for i in range(50)],
    },
    "steps": {"shape": {"total": 85, "lines": ["a", "b", "c"]}},
}
ORDINARY = [
    "{{ trigger.body.customer.email }}",
    "Order {{ steps.shape.total }} for {{ trigger.body.customer.name | upper }}",
    "{{ trigger.items | map(attribute='sku') | join(', ') }}",
    "{% for it in trigger.items %}{{ loop.index }}. {{ it.name | title }} x{{ it.qty }}\n"
    "{% endfor %}",
    "{{ trigger.body | tojson }}",
    "{{ '%s: %.2f' | format(trigger.body.customer.name, trigger.body.total) }}",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=2000)
    args = parser.parse_args()
    renderer = Renderer(max_output=CAP)
    print("ordinary templates (µs of CPU per render)")
    for source in ORDINARY:
        renderer.render(source, VARS, "f")
        started = time.thread_time()
        for _ in range(args.renders):
            renderer.render(source, VARS, "f")
        per = (time.thread_time() - started) / args.renders * 1e6
        print(f"  {per:8.1f}  {source[:70]!r}")
    print(f"bombs (output cap {CAP} characters; bound cap * 4 + 50 MB)")
    for source, _named in BOMBS:
        tracemalloc.start()
        started = time.thread_time()
        try:
            renderer.render(source, VARS, "f")
            outcome = "RENDERED"
        except TemplateError as exc:
            outcome = str(exc)[3:60]
        took = time.thread_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {took:5.2f} s {peak / 1e6:6.1f} MB  {source[:48]!r:52} {outcome}")


if __name__ == "__main__":
    main()
