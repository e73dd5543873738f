"""Workflow definitions as data: what pages, the API, import and export exchange."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from app.actions.conditions import ConditionSet
from app.engine.retry import RetrySettings
from app.services.workflows.failure_spec import OnFailure

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
BRANCH_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
MAX_STEPS = 100  # in the top-level list
MAX_TREE_STEPS = 200  # in the whole tree, branches and loop bodies included
MAX_DEPTH = 3  # loop and paths steps nest at most this deep
MIN_BRANCHES, MAX_BRANCHES = 2, 10
# The fields a step has only as a container (loop: steps; paths: branches, otherwise).
CONTAINER_FIELDS = ("steps", "branches", "otherwise")


def _absent(value: Any) -> bool:
    return value is None


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field("manual", description="A trigger type from GET /api/v1/triggers.")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Checked against the trigger's config schema (GET /api/v1/triggers), then "
        "by rules a schema cannot state: a cron expression and a time zone name must be valid, "
        "`connection_id` must name one of your connections, and fields that go together must "
        "be given together. A refusal is a 422 naming the field.",
    )
    sample_data: dict[str, Any] | None = Field(
        None, description="Example trigger data for the editor's picker and step tests."
    )


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(
        None,
        pattern=KEY_PATTERN,
        description="Stable slug used in templates (steps.<key>), unique within the workflow "
        "(a repeated key is a 422); generated when omitted.",
    )
    type: str = Field(description="An action type from GET /api/v1/actions.")
    name: str = Field("", max_length=200)
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Checked against the action's config schema (GET /api/v1/actions), then "
        "by rules a schema cannot state: templates must parse and read only the trigger and "
        "earlier steps, `connection_id` must name one of your connections, and fields that go "
        "together must be given together (e.g. a Slack `webhook_url` when `via` is "
        "`webhook`). A refusal is a 422 naming the field.",
    )
    retry: RetrySettings | None = None
    enabled: bool = True
    continue_on_error: bool = False
    run_if: ConditionSet | None = Field(
        None,
        description="Run only if: the step runs when these conditions hold (the filter's "
        "operators; `left` and `right` may be templates, rendered when the step's turn comes); "
        "otherwise it is `skipped`, its output records the conditions with the values they "
        "saw, and the run goes on. Later steps read a skipped step as absent.",
    )

    # A step that holds no lists is written as before nesting existed (exports, versions).
    steps: list[StepSpec] | None = Field(
        None,
        exclude_if=_absent,
        description="Loop steps only: the steps run once per item, in order (may be empty). "
        "They read `loop.item`, `loop.index`, `loop.first`, `loop.last`, `loop.count` (and "
        "`loop.parent` in a nested loop); later steps read the loop's output "
        "(`steps.<loop key>.items`), never the steps inside it. Rules a schema cannot state: "
        "loop and paths steps nest at most 3 deep (a deeper one is a 422 naming its `type`), "
        "and a workflow holds at most 200 steps in all (a 422 naming `steps`).",
    )
    branches: list[BranchSpec] | None = Field(
        None,
        exclude_if=_absent,
        min_length=MIN_BRANCHES,
        max_length=MAX_BRANCHES,
        description="Paths steps only: 2 to 10 branches, each a condition and its steps. A "
        "rule a schema cannot state: a paths step ends its list (a step after it is a 422 "
        "naming the paths step's `type`).",
    )
    otherwise: OtherwiseSpec | None = Field(
        None,
        exclude_if=_absent,
        description="Paths steps only: the steps run when no branch matched.",
    )


class BranchSpec(BaseModel):
    """One branch of a paths step: its condition and the steps it runs."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(
        None,
        pattern=BRANCH_KEY_PATTERN,
        description="Unique in its paths step (runs are addressed by it, e.g. `4/b/2`); "
        "generated (`a`, `b`, …) when omitted.",
    )
    name: str = Field(min_length=1, max_length=100)
    condition: ConditionSet = Field(
        description="The branch runs when these conditions hold (the filter's operators)."
    )
    steps: list[StepSpec] = Field(default_factory=list)


class OtherwiseSpec(BaseModel):
    """The steps a paths step runs when no branch matched."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("Otherwise", min_length=1, max_length=100)
    steps: list[StepSpec] = Field(default_factory=list)


MAX_RUN_SECONDS = 30 * 86400  # a run's time limit, waits included
MAX_STEP_SECONDS = 86400  # a step's


class WorkflowSettings(BaseModel):
    """How every run of the workflow behaves: its time zone (delay until, dates in templates),
    its time limits, what happens when it fails. Stored as `workflows.settings` and frozen
    into each run's snapshot."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(
        "UTC",
        max_length=64,
        description="IANA time zone (e.g. Europe/Paris) of dates the workflow reads without one.",
    )
    time_limit_seconds: int | None = Field(
        None,
        ge=1,
        le=MAX_RUN_SECONDS,
        description="A run still going this long after it started (waits included) fails. "
        "Null: no limit.",
    )
    step_time_limit_seconds: int | None = Field(
        None,
        ge=1,
        le=MAX_STEP_SECONDS,
        description="Default limit of one attempt of a step; an attempt over it fails as a "
        "timeout (and is retried under the step's rules). Null: the engine's default.",
    )
    on_failure: OnFailure | None = Field(
        None,
        description="When a run fails: an error workflow to start and/or a notification "
        "(email, Slack) with a link to the run. Null: nothing beyond the run's own status.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone", "Pick a time zone such as UTC or Europe/Paris."
            ) from None
        return name


class WorkflowSpec(BaseModel):
    """A whole workflow definition: name, trigger and ordered steps."""

    model_config = ConfigDict(extra="forbid")

    # Not blanks only (stored stripped, it would be empty): the pattern says so to clients.
    name: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": r"\S"})
    description: str = Field("", max_length=5000)
    trigger: TriggerSpec = Field(default_factory=TriggerSpec)
    steps: list[StepSpec] = Field(default_factory=list, max_length=MAX_STEPS)
    run_key_template: str | None = Field(
        None,
        max_length=500,
        description="Template evaluated per execution, e.g. a customer id; it must parse "
        "(else a 422).",
    )
    settings: WorkflowSettings = Field(
        default_factory=WorkflowSettings,
        description="Time zone, time limits and failure handling of every run. Rules a schema "
        "cannot state (a time zone the server knows; an error workflow, credential or "
        "connection of your own) are checked on save: a 422 naming the field.",
    )

    @field_validator("name")
    @classmethod
    def _not_blank(cls, name: str) -> str:
        # The name is stored stripped: one of blanks only would be stored empty.
        if not name.strip():
            raise PydanticCustomError("blank", "Give the workflow a name.")
        return name


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"step_{slug}" if slug else "step"
    return slug[:56]


def unique_key(base: str, taken: set[str]) -> str:
    key = slugify(base)
    candidate, n = key, 2
    while candidate in taken:
        candidate = f"{key}_{n}"
        n += 1
    return candidate


StepSpec.model_rebuild()
