"""How executions look on pages: JSON, times and durations as text, the hourly bar chart, what
each step's story is (services.executions.explain) and where each step lives in the editor.

Template filters return plain strings, so Jinja's autoescaping applies to whatever a step
stored (markup and hx-* attributes in outputs render as inert text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import url_for

from app.models import ExecutionStep
from app.models.base import utcnow
from app.services.executions import explain, paths_decision, timeline, waiting
from app.services.executions.attempt_history import AttemptLine, attempt_lines, rate_limit_wait
from app.services.executions.stats import Activity
from app.services.executions.step_views import ExecutionDetail
from app.web.blueprint import bp

# Stacking order of the chart's bars, bottom up, and the CSS class of each status.
CHART_STATUSES = ("completed", "failed", "cancelled", "running", "waiting", "pending")
CHART_WIDTH = 480
CHART_HEIGHT = 120
CHART_AXIS = 18  # room under the bars for hour labels
BAR_GAP = 4


@bp.app_template_filter("execution_json")
def execution_json(value: Any) -> str:
    """Pretty JSON for inputs, outputs and trigger data (a str: autoescaped where it lands)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class ExecutionPage:
    """What the execution page's step macros read (executions/_step.html)."""

    detail: ExecutionDetail
    stories: dict[int, explain.Story]  # why each step was skipped, what each filter decided
    decisions: dict[int, paths_decision.PathsDecision]  # what each paths step took, and why
    page_size: int = timeline.PAGE  # iterations one "show more" loads
    links: dict[str, tuple[str, str]] = field(default_factory=dict)

    def editor_link(self, key: str) -> tuple[str, str]:
        """Where a step of this run is in the editor, and the link's words: the live editor
        with the step open when the run used the current version, else that version,
        read-only. Once per step key (a step in a loop has a run per iteration)."""
        if key not in self.links:
            self.links[key] = _editor_link(self.detail, key)
        return self.links[key]


def _editor_link(detail: ExecutionDetail, key: str) -> tuple[str, str]:
    execution = detail.execution
    if detail.ran_current_version:
        url = url_for("web.workflow_show", workflow_id=execution.workflow_id, step=key)
        return url, "Open in the editor"
    version = execution.workflow_version
    url = url_for("web.version_show", workflow_id=execution.workflow_id, version=version, step=key)
    return f"{url}#step-{key}", f"View in version {version}"


@bp.app_template_global("execution_page")
def execution_page(detail: ExecutionDetail) -> ExecutionPage:
    """The stories and paths decisions of the steps shown, by step id."""
    return ExecutionPage(detail, explain.stories(detail), paths_decision.decisions(detail))


@bp.app_template_filter("execution_time")
def execution_time(value: datetime | str | None) -> str:
    """A UTC timestamp to the second; attempt logs store ISO strings."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("seconds_text")
def seconds_text(seconds: float) -> str:
    """340 ms, 2.4 s, 3 min 5 s, 2 h 10 min."""
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@bp.app_template_filter("execution_duration")
def execution_duration(start: datetime | str | None, end: datetime | str | None = None) -> str:
    """Time from `start` to `end` (to now while running); empty before the start."""
    if start is None:
        return ""
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    if isinstance(end, str):
        end = datetime.fromisoformat(end)
    return seconds_text(((end or utcnow()) - start).total_seconds())


@bp.app_template_filter("step_attempts")
def step_attempts(step: ExecutionStep) -> list[AttemptLine]:
    """A step's attempts, one line each: the header counts these lines."""
    return attempt_lines(step)


@bp.app_template_filter("step_wait")
def step_wait(step: ExecutionStep) -> str:
    """For a waiting step: "Waiting for a call to its resume URL since 10:02 UTC, until Dec 9
    10:02 UTC (in 2 days)"; else empty."""
    found = waiting.of_step(step)
    return found.sentence() if found is not None else ""


@bp.app_template_filter("rate_limit_wait")
def rate_limit_wait_text(step: ExecutionStep) -> tuple[str, str] | None:
    """For a step pending on a rate limit: "waiting for Slack's rate limit until" and the
    time (UTC, to the second), else None."""
    line = rate_limit_wait(step)
    if line is None or line.waiting_until is None:
        return None
    until = line.waiting_until.astimezone(UTC)
    return f"Waiting for {line.waiting_for}'s rate limit until", until.strftime("%H:%M:%S")


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart: a status's share of one hour."""

    x: float
    y: float
    width: float
    height: float
    status: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    summary: str


def hourly_chart(activity: Activity) -> Chart:
    """Stacked bars per hour (server-rendered SVG: no script, no inline style)."""
    slots = len(activity.hours) or 1
    slot = CHART_WIDTH / slots
    area = CHART_HEIGHT - CHART_AXIS
    peak = activity.peak or 1
    bars: list[Bar] = []
    labels: list[Label] = []
    for index, bucket in enumerate(activity.hours):
        x = round(index * slot + BAR_GAP / 2, 1)
        hour = bucket.start.strftime("%H:00")
        parts = [f"{bucket.by_status.get(s, 0)} {s}" for s in CHART_STATUSES]
        title = f"{bucket.start:%Y-%m-%d} {hour} UTC: " + ", ".join(
            p for p in parts if not p.startswith("0 ")
        )
        bottom = float(area)
        for status in CHART_STATUSES:
            count = bucket.by_status.get(status, 0)
            if not count:
                continue
            height = max(round(count / peak * (area - 4), 1), 1.0)
            bottom -= height
            bars.append(Bar(x, round(bottom, 1), round(slot - BAR_GAP, 1), height, status, title))
        if index % 6 == 0:
            labels.append(Label(round(x, 1), hour))
    summary = (
        f"Executions per hour over the last {len(activity.hours)} hours: "
        f"{activity.day.total} in all, at most {activity.peak} in one hour."
    )
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, labels, summary)
