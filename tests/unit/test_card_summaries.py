"""What the editor's cards say (app.web.editor.summaries): config in words, references as pills,
the trigger in words, palette categories, what passes between steps."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.engine.categories import category_of
from app.web.editor.summaries import (
    Piece,
    by_category,
    cron_words,
    output_preview,
    output_words,
    pieces,
    summary,
    trigger_summary,
)


@pytest.mark.parametrize(
    ("type_", "config", "expected"),
    [
        (
            "http_request",
            {"method": "POST", "url": "https://api.example.com/orders"},
            "POST https://api.example.com/orders",
        ),
        ("transform", {"fields": {"total": "1", "email": "x"}}, "2 fields: total, email"),
        ("transform", {"fields": {"total": "1"}}, "1 field: total"),
        (
            "run_workflow",
            {"workflow_id": 12},
            "Runs workflow #12 · waits up to 1 day for its result",
        ),
        (
            "run_workflow",
            {"workflow_id": 12, "timeout": 3, "timeout_unit": "hours"},
            "Runs workflow #12 · waits up to 3 hours for its result",
        ),
        ("run_workflow", {"workflow_id": 12, "wait": False}, "Runs workflow #12 · goes on at once"),
        (
            "run_workflow",
            {"workflow_id": "{{ trigger.which }}"},
            "Runs workflow #{{ trigger.which }} · waits up to 1 day for its result",
        ),
        (
            "filter",
            {"conditions": [{"left": "status", "operator": "equals", "right": "paid"}]},
            "Continue only if status is equal to paid",
        ),
        (
            "filter",
            {
                "match": "any",
                "conditions": [
                    {"left": "a", "operator": "is_empty", "right": "ignored"},
                    {"left": "b", "operator": "greater_than", "right": 3},
                ],
            },
            "Continue only if a is empty or b is greater than 3",
        ),
        (
            "filter",
            {
                "match": "any",
                "conditions": [
                    {
                        "match": "all",
                        "conditions": [
                            {"left": "a", "operator": "equals", "right": 1},
                            {"left": "b", "operator": "is_true"},
                        ],
                    },
                    {"left": "c", "operator": "is_empty"},
                ],
            },
            "Continue only if (a is equal to 1 and b is true) or c is empty",
        ),
        ("delay", {"amount": 5, "unit": "minutes"}, "Wait 5 minutes"),
        ("log", {"message": "hi"}, "Log “hi”"),
        ("log", {}, "Not configured yet"),
        ("slack_message", {"channel": "#ops", "bot_token": "secret"}, "channel: #ops"),
    ],
)
def test_a_step_summary_reads_in_words(type_: str, config: dict, expected: str) -> None:
    assert summary(type_, config, frozenset({"bot_token"})) == expected


def test_template_references_become_pills_named_by_step() -> None:
    text = "Order {{ steps.shape.total }} for {{ trigger.body.email }} ({{ now() }})"

    assert pieces(text, {"shape": "Shape"}) == [
        Piece("Order "),
        Piece("Shape \u203a total", True, "{{ steps.shape.total }}"),
        Piece(" for "),
        Piece("Trigger \u203a body \u203a email", True, "{{ trigger.body.email }}"),
        Piece(" ("),
        Piece("now()", True, "{{ now() }}"),
        Piece(")"),
    ]
    assert pieces("plain", {}) == [Piece("plain")]


@pytest.mark.parametrize(
    ("type_", "config", "expected"),
    [
        ("webhook", {"methods": ["POST"], "auth": "none"}, "POST · answers at once · no auth"),
        (
            "webhook",
            {
                "methods": ["POST", "PUT"],
                "auth": "github",
                "response_mode": "wait",
                "wait_timeout_seconds": 10,
            },
            "POST/PUT · answers with the result (waits up to 10 s) · signed by GitHub",
        ),
        (
            "webhook",
            {"auth": "header", "header": "X-Token"},
            "POST · answers at once · secret in the X-Token header",
        ),
        (
            "schedule",
            {"cron": "0 9 * * *", "timezone": "Europe/Paris"},
            "Every day at 09:00 (Europe/Paris)",
        ),
        ("schedule", {"cron": "30 8 * * 1-5"}, "Every weekday at 08:30 (UTC)"),
        ("manual", {}, "Started by hand with Run now, or through the API"),
    ],
)
def test_the_trigger_reads_in_words(type_: str, config: dict, expected: str) -> None:
    assert trigger_summary(type_, config, "description") == expected


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("@hourly", "Every hour at :00"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("0 7 * * 1", "Every Monday at 07:00"),
        ("0 0 1 * *", "On day 1 of every month at 00:00"),
        ("5 4 * 6 2", "On the schedule “5 4 * 6 2”"),
    ],
)
def test_cron_in_words(cron: str, expected: str) -> None:
    assert cron_words(cron) == expected


def test_kinds_group_by_category_in_a_fixed_order() -> None:
    kinds = [
        SimpleNamespace(type=t, category=category_of(SimpleNamespace(type=t)))
        for t in ("slack_message", "log", "http_request", "acme.x", "transform", "llm_chat")
    ]

    groups = [(name, [k.type for k in members]) for name, members in by_category(kinds)]

    assert groups == [
        ("Messaging", ["slack_message"]),
        ("Data", ["transform"]),
        ("AI", ["llm_chat"]),
        ("Developer", ["log", "http_request"]),
        ("More", ["acme.x"]),
    ]
    assert category_of(SimpleNamespace(type="google.sheets.append_row")) == "Google"
    assert category_of(SimpleNamespace(type="acme.x", category="Billing")) == "Billing"


def test_what_passes_between_steps() -> None:
    assert output_words({"a": 1, "b": 2, "c": 3}) == "3 fields"
    assert output_words({"a": 1}) == "1 field"
    assert output_words([1, 2]) == "2 items"
    assert output_words(None) is None


def test_a_tested_card_previews_the_first_fields_of_its_output() -> None:
    output = {"who": "Ada Lovelace", "vip": True, "total": 42, "note": "x"}

    assert output_preview(output) == "who: Ada Lovelace · vip: true · total: 42 · …"
    assert output_preview({"n": 1}) == "n: 1"
    assert output_preview([1, 2]) == "2 items"
    assert output_preview(None) is None
    assert output_preview({}) is None


def test_a_call_names_the_workflow_it_runs() -> None:
    names = {12: "Make invoice"}

    assert summary("run_workflow", {"workflow_id": 12, "wait": False}, frozenset(), names) == (
        "Runs “Make invoice” · goes on at once"
    )
