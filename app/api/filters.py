"""Query-string filters of the lists: executions by status, workflow, time range, run key and
errors; workflows by name, enabled and trigger type.

Each bad value is a 400 naming the parameter. The parameters' OpenAPI entries are in
operations.py.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from flask import request

from app.api.errors import ApiError
from app.api.pagination import utc_representable
from app.models import ExecutionStatus, storable
from app.services.executions.filtering import ExecutionFilter
from app.services.executions.lifecycle import RUN_KEY_LENGTH
from app.services.workflows import listing
from app.services.workflows.listing import S

MAX_ID = 2**31 - 1
STATUSES = [status.value for status in ExecutionStatus]


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message, field=name)


def _time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("z", "Z"))
    except ValueError:
        value = None
    if value is None or not utc_representable(value):
        raise _bad(name, f"`{name}` must be a date-time with an offset, e.g. 2024-05-01T12:00:00Z.")
    return value.astimezone(UTC)


def _statuses() -> tuple[str, ...]:
    values = tuple(dict.fromkeys(request.args.getlist("status")))
    unknown = [v for v in values if v not in STATUSES]
    if unknown:
        raise _bad("status", f"`status` must be one of {', '.join(STATUSES)}.")
    return values


def _workflow_id() -> int | None:
    raw = request.args.get("workflow_id")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise _bad("workflow_id", "`workflow_id` must be a workflow's id.")
    return int(raw)


def _run_key() -> str | None:
    raw = request.args.get("run_key")
    if raw is None:
        return None
    if not 1 <= len(raw) <= RUN_KEY_LENGTH or storable.find(raw) is not None:
        raise _bad("run_key", f"`run_key` must be 1 to {RUN_KEY_LENGTH} characters of text.")
    return raw


def _boolean(name: str) -> bool | None:
    """A `true`/`false` parameter; None when it is not given."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _bad(name, f"`{name}` must be true or false.")
    return raw == "true"


def execution_filter(workflow_id: int | None = None) -> ExecutionFilter:
    """The filters of this request; `workflow_id` fixes the workflow (its own list)."""
    return ExecutionFilter(
        workflow_id=workflow_id if workflow_id is not None else _workflow_id(),
        statuses=_statuses(),
        created_after=_time("created_after"),
        created_before=_time("created_before"),
        run_key=_run_key(),
        has_errors=_boolean("has_errors"),
        include_dry_runs=bool(_boolean("include_dry_runs")),
    )


NAME_LENGTH = 200


def _name() -> str | None:
    raw = request.args.get("name")
    if raw is None:
        return None
    if not 1 <= len(raw) <= NAME_LENGTH or storable.find(raw) is not None:
        raise _bad("name", f"`name` must be 1 to {NAME_LENGTH} characters of text.")
    return raw


def _trigger_type(known: Collection[str]) -> str | None:
    raw = request.args.get("trigger_type")
    if raw is None:
        return None
    if raw not in known:
        raise _bad("trigger_type", f"`trigger_type` must be one of {', '.join(sorted(known))}.")
    return raw


def workflow_matching(statement: S, trigger_types: Collection[str]) -> S:
    """`statement` narrowed by this request's workflow filters."""
    return listing.matching(
        statement,
        name=_name(),
        enabled=_boolean("enabled"),
        trigger_type=_trigger_type(trigger_types),
    )
