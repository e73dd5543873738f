"""services.workflows.resume_refs: an earlier step may read `steps.<wait>.resume_url` of a later
waiting step of the same loop iteration, and nothing else of it."""

from __future__ import annotations

from typing import Any

from app.services.workflows.resume_refs import ahead, allowed, url_only_keys
from app.services.workflows.step_checks import references_of


def step(key: str, type_: str = "log", message: str = "", **more: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "name": key.title(), "config": {"message": message}, **more}


def loop(key: str, *steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "type": "loop",
        "config": {"items": "{{ trigger.rows }}"},
        "steps": list(steps),
    }


def test_only_reads_of_the_resume_url_count() -> None:
    texts = {
        "a": "{{ steps.hold.resume_url }} and {{ steps['ask'][\"resume_url\"] }}",
        "b": "{{ steps.other.resume_url }} {{ steps.other.body }}",
        "c": "plain steps.nothing.resume_url",
    }

    assert url_only_keys(texts) == {"hold", "ask"}


def test_an_earlier_step_reads_a_later_waits_url_but_not_its_output() -> None:
    steps = [
        step("tell", message="Approve at {{ steps.hold.resume_url }}"),
        step("hold", "wait_for_call"),
        step("boss", "approval"),
        step("after", message="{{ steps.hold.body }}"),
    ]

    assert [a.key for a in ahead(steps, "tell")] == ["hold", "boss"]
    assert [a.key for a in ahead(steps, "hold")] == ["boss"]  # not itself
    assert ahead(steps, "after") == []  # both are readable already
    assert references_of(steps, "tell") == []
    steps[0]["config"]["message"] = "{{ steps.hold.resume_url }} {{ steps.hold.body }}"
    assert references_of(steps, "tell") == ["Uses step “hold”, which runs after this one."]


def test_a_wait_inside_a_loop_is_offered_only_inside_that_loop() -> None:
    steps = [
        step("before", message="{{ steps.hold.resume_url }}"),
        loop(
            "each",
            step("ask", message="{{ steps.hold.resume_url }}"),
            step("hold", "wait_for_call"),
        ),
        step("outer_wait", "wait_for_call"),
    ]

    assert [a.key for a in ahead(steps, "ask")] == ["hold", "outer_wait"]
    assert [a.key for a in ahead(steps, "before")] == ["outer_wait"]
    assert allowed(steps, "ask", steps[1]["steps"][0]["config"]) == {"hold"}
    assert allowed(steps, "before", steps[0]["config"]) == set()
    assert references_of(steps, "ask") == []
    assert references_of(steps, "before") == [
        "Uses step “hold”, which runs inside loop “each”: read the loop's output "
        "(steps.each.items) instead."
    ]
