"""What a card says in words: a one-line summary of a step's or a trigger's config, with its
template references as pills (step name, then field), and the category and colour of a kind.

"POST https://api.example.com/orders", "2 fields: total, email", "Continue only if
status equals paid", "POST · answers at once · no auth", "Every day at 09:00 (Europe/Paris)".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from app.actions.conditions import OPERATOR_WORDS, UNARY
from app.engine import categories

K = TypeVar("K")

SUMMARY_CHARS = 90
TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
REFERENCE = re.compile(
    r"^(trigger|steps\.([A-Za-z_][A-Za-z0-9_]*)|loop(?:\.parent)*\.item)((?:\.[A-Za-z0-9_]+|\[\d+\])*)$"
)

AUTH_WORDS = {
    "none": "no auth",
    "github": "signed by GitHub",
    "stripe": "signed by Stripe",
    "slack": "signed by Slack",
    "shopify": "signed by Shopify",
    "hmac": "HMAC signature",
}
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
SEPARATOR = " \u203a "  # a single right-pointing angle quotation mark between the parts


@dataclass(frozen=True)
class Piece:
    """A run of summary text, or a pill for a template reference (`source` is its template)."""

    text: str
    pill: bool = False
    source: str = ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _condition(condition: Mapping[str, Any]) -> str:
    operator = str(condition.get("operator") or "equals")
    words = OPERATOR_WORDS.get(operator, operator.replace("_", " "))
    left = _value(condition.get("left", ""))
    if operator in UNARY:
        return f"{left} {words}"
    return f"{left} {words} {_value(condition.get('right', ''))}"


def _joined(items: list[Any], match: Any) -> str:
    """Conditions in words; a group in brackets: "(a and b) or c"."""
    parts = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("conditions"), list):
            inner = _joined(item["conditions"], item.get("match", "all"))
            parts.append(f"({inner})" if inner else "")
        elif isinstance(item, dict):
            parts.append(_condition(item))
    return (" and " if match == "all" else " or ").join(p for p in parts if p)


def _conditions(config: Mapping[str, Any]) -> str:
    text = _joined(config["conditions"], config.get("match", "all"))
    return "Continue only if " + text if text else "Always continue"


def only_if(run_if: Any) -> str:
    """The card's line for a step's "Run only if" ("Only if … is equal to …"); "" for none."""
    if not isinstance(run_if, Mapping) or not isinstance(run_if.get("conditions"), list):
        return ""
    text = _joined(run_if["conditions"], run_if.get("match", "all"))
    return _short("Only if " + text) if text else ""


def summary(
    type_: str,
    config: Mapping[str, Any],
    secret: frozenset[str] = frozenset(),
    workflows: Mapping[int, str] | None = None,
) -> str:
    """One line that says what a step does with its config (templates left as they are);
    `workflows`: the names of the workflows a run_workflow step may call, by id."""
    if type_ == "paths":
        mode = config.get("mode") or "first"
        return (
            "Takes every branch that matches"
            if mode == "all"
            else "Takes the first branch that matches"
        )
    if type_ == "loop" and config.get("items"):
        return _short(f"For each item in {config['items']}")
    if not config:
        return "Not configured yet"
    if type_ == "transform" and isinstance(config.get("fields"), dict):
        names = list(config["fields"])
        if not names:
            return "Sets no field yet"
        return _short(f"{_plural(len(names), 'field')}: {', '.join(names)}")
    if type_ == "filter" and isinstance(config.get("conditions"), list):
        return _short(_conditions(config))
    if type_ == "delay" and config.get("mode") == "until" and config.get("until"):
        return _short(f"Wait until {config['until']}")
    if type_ == "delay" and "amount" in config:
        return _short(f"Wait {config['amount']} {config.get('unit', 'seconds')}")
    if type_ == "run_workflow" and config.get("workflow_id") not in (None, ""):
        return _short(_call_words(config, workflows or {}))
    if type_ == "approval" and config.get("title"):
        text = f"Ask “{config['title']}”"
        if "timeout_amount" in config:
            unit = config.get("timeout_unit", "days")
            text += f" · waits up to {config['timeout_amount']} {unit}"
        return _short(text)
    if type_ == "log" and "message" in config:
        return _short(f"Log “{config['message']}”")
    if type_ == "http_request" and "url" in config:
        return _short(f"{config.get('method', 'GET')} {config['url']}")
    shown = [
        f"{k.replace('_', ' ')}: {_value(v)}"
        for k, v in config.items()
        if k not in secret and v not in ("", None, [], {})
    ]
    return _short(" · ".join(shown)) if shown else "Configured"


def _call_words(config: Mapping[str, Any], workflows: Mapping[int, str]) -> str:
    """What a run_workflow step does: "Runs “Invoice” · waits up to 1 day for its result",
    or "… · goes on at once"; a workflow whose name is not known reads "workflow #12"."""
    workflow_id = config["workflow_id"]
    name = workflows.get(workflow_id) if isinstance(workflow_id, int) else None
    called = f"Runs “{name}”" if name else f"Runs workflow #{_value(workflow_id)}"
    if config.get("wait") is False:
        return f"{called} · goes on at once"
    amount, unit = config.get("timeout", 1), str(config.get("timeout_unit") or "days")
    if amount == 1:
        unit = unit.rstrip("s")
    return f"{called} · waits up to {_value(amount)} {unit} for its result"


def _clock(minute: str, hour: str) -> str | None:
    if minute.isdigit() and hour.isdigit():
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


def cron_words(expression: str) -> str:
    """A cron expression in words for the common shapes; the expression itself otherwise."""
    aliases = {
        "@hourly": "0 * * * *",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *",
    }
    text = aliases.get(expression.strip(), expression.strip())
    parts = text.split()
    if len(parts) != 5:
        return f"On the schedule “{expression}”"
    minute, hour, day, month, weekday = parts
    at = _clock(minute, hour)
    if minute.startswith("*/") and minute[2:].isdigit() and parts[1:] == ["*"] * 4:
        return f"Every {minute[2:]} minutes"
    if minute.isdigit() and parts[1:] == ["*"] * 4:
        return f"Every hour at :{int(minute):02d}"
    if at and day == "*" and month == "*":
        if weekday == "*":
            return f"Every day at {at}"
        if weekday == "1-5":
            return f"Every weekday at {at}"
        if weekday.isdigit() and int(weekday) <= 7:
            return f"Every {WEEKDAYS[int(weekday) % 7]} at {at}"
    if at and day.isdigit() and month == "*" and weekday == "*":
        return f"On day {int(day)} of every month at {at}"
    return f"On the schedule “{expression}”"


def _webhook_words(config: Mapping[str, Any]) -> str:
    methods = config.get("methods") or ["POST"]
    parts = ["/".join(str(m) for m in methods)]
    if config.get("response_mode") == "wait":
        seconds = config.get("wait_timeout_seconds", 30)
        parts.append(f"answers with the result (waits up to {float(seconds):g} s)")
    else:
        parts.append("answers at once")
    auth = str(config.get("auth") or "none")
    if auth == "header":
        parts.append(f"secret in the {config.get('header') or 'header'} header")
    else:
        parts.append(AUTH_WORDS.get(auth, auth))
    return " · ".join(parts)


def trigger_summary(type_: str, config: Mapping[str, Any], description: str) -> str:
    """The trigger card's line, in words."""
    if type_ == "webhook":
        return _webhook_words(config)
    if type_ == "schedule" and config.get("cron"):
        return _short(f"{cron_words(str(config['cron']))} ({config.get('timezone') or 'UTC'})")
    if type_ == "manual":
        return "Started by hand with Run now, or through the API"
    return summary(type_, config) if config else description


def pieces(text: str, step_names: Mapping[str, str]) -> list[Piece]:
    """`text` cut into plain runs and pills: `{{ steps.shape.total }}` reads "Shape", then
    "total" (the step's name, then the field); `{{ trigger.body.id }}` "Trigger", "body", "id";
    any other expression is a pill as written."""
    found: list[Piece] = []
    position = 0
    for match in TEMPLATE.finditer(text):
        if match.start() > position:
            found.append(Piece(text[position : match.start()]))
        found.append(Piece(_pill_label(match.group(1), step_names), True, match.group(0)))
        position = match.end()
    if position < len(text):
        found.append(Piece(text[position:]))
    return found


def _pill_label(expression: str, step_names: Mapping[str, str]) -> str:
    reference = REFERENCE.match(expression)
    if reference is None:
        return expression
    head = "Trigger" if reference.group(1) == "trigger" else None
    if reference.group(1).startswith("loop"):
        head = "Item" if reference.group(1) == "loop.item" else "Outer item"
    if head is None:
        key = reference.group(2)
        head = step_names.get(key, key)
    path = re.findall(r"[A-Za-z0-9_]+", reference.group(3))
    return SEPARATOR.join([head, *path])


def by_category(kinds: Iterable[K]) -> list[tuple[str, list[K]]]:
    """Kinds (each with a `category`) grouped in the palette's order of categories
    (app/engine/categories.py), each keeping its order."""
    groups: dict[str, list[K]] = {}
    for kind in kinds:
        groups.setdefault(str(getattr(kind, "category", "") or categories.OTHER), []).append(kind)
    return [(name, groups[name]) for name in categories.ordered(set(groups))]


def output_preview(output: Any, fields: int = 3) -> str | None:
    """The first fields of a step's last output, for its card: `who: Ada · vip: true · …`."""
    if isinstance(output, dict) and output:
        shown = [
            f"{name}: {_short(_value(value))[:40]}" for name, value in list(output.items())[:fields]
        ]
        more = " · …" if len(output) > fields else ""
        return _short(" · ".join(shown) + more)
    if isinstance(output, list):
        return _plural(len(output), "item")
    return None if output is None or output == {} else _short(_value(output))


def output_words(output: Any) -> str | None:
    """What a step's (or the trigger's) data amounts to, for the connector after it."""
    if isinstance(output, dict):
        return _plural(len(output), "field")
    if isinstance(output, list):
        return _plural(len(output), "item")
    if output is None:
        return None
    return "1 value"
