"""Waiting steps for the services: find the step a resume URL names, and resume it (a call to
the URL, a decision, the owner's "Resume now", a child run's end) through the engine's
conditional resume (app.engine.waits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.engine import waits
from app.engine.doorbell import Send
from app.engine.resume_urls import WaitRef, read_token
from app.models import Execution, ExecutionStep
from app.services.errors import ConflictError, NotFoundError

ALREADY_RESUMED = "This step is not waiting any more: it was resumed already, or its run ended."


@dataclass(frozen=True)
class Resumer:
    """What a resume needs: the database, the doorbell, the lease a woken run gets (an
    entry point builds it from its container)."""

    engine: Engine
    send: Send
    lease: timedelta


def ref_of(secret: str, token: str) -> WaitRef:
    """The step run a resume token names (`secret`: SECRET_KEY); NotFoundError for a malformed
    or forged one."""
    ref = read_token(secret, token)
    if ref is None:
        raise NotFoundError("No step waits at this URL.")
    return ref


def find_step(session: Session, ref: WaitRef) -> tuple[Execution, ExecutionStep]:
    """The execution and the step run `ref` names, waiting or not (a page says which);
    NotFoundError when there is none (the run was deleted)."""
    found = session.execute(
        select(Execution, ExecutionStep)
        .join(ExecutionStep, ExecutionStep.execution_id == Execution.id)
        .where(
            Execution.id == ref.execution_id,
            ExecutionStep.position == ref.position,
            ExecutionStep.frame == ref.frame,
        )
    ).first()
    if found is None:
        raise NotFoundError("No step waits at this URL.")
    return found[0], found[1]


def find_waiting(session: Session, ref: WaitRef) -> tuple[Execution, ExecutionStep] | None:
    """The execution and step `ref` names while the step waits, else None."""
    try:
        execution, step = find_step(session, ref)
    except NotFoundError:
        return None
    return (execution, step) if step.status == "waiting" else None


def resume(resumer: Resumer, ref: WaitRef, data: Mapping[str, Any]) -> None:
    """Resume the waiting step `ref` with `data`; ConflictError when it is not waiting (a
    resume URL is single use)."""
    if not waits.resume(resumer.engine, resumer.send, ref, data, lease=resumer.lease):
        raise ConflictError(ALREADY_RESUMED)


def ref_of_step(step: ExecutionStep) -> WaitRef:
    return WaitRef(step.execution_id, step.position, step.frame)
