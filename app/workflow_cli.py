"""`flask workflows …` and `flask executions …`: workflows and runs from a shell, for scripts.

The commands act as one user (`--user EMAIL`) through the same services as the API, and speak
the API's shapes: an export file is what `GET /api/v1/workflows/{id}/export` answers, and a run's
result is what `GET /api/v1/executions/{id}` answers.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.api.executions import execution_out
from app.api.workflows import export_document
from app.extensions import container, db
from app.models import Execution, ExecutionStatus, User
from app.services.accounts import users
from app.services.errors import NotFoundError, ServiceError
from app.services.executions import filtering, lifecycle, waiting
from app.services.webhooks import receiver
from app.services.workflows import crud, versions

# Exit status of `workflows run --wait`, by how the run ended.
EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_COMPLETED_WITH_ERRORS = 2  # a continue-on-error step failed: never a silent success
EXIT_TIMEOUT = 3


def user_by_email(session: Session, email: str) -> User:
    user = users.find_by_email(session, email)
    if user is None:
        raise click.ClickException(f"no user with the email {email!r}")
    return user


def _fail(exc: ServiceError) -> click.ClickException:
    if isinstance(exc, NotFoundError):  # its message names only what was looked up
        return click.ClickException(f"{exc.message}: not found")
    where = f" ({exc.field})" if exc.field else ""
    return click.ClickException(f"{exc.message}{where}")


user_option = click.option(
    "--user", "email", required=True, help="Act as the user with this email."
)


@click.group("workflows")
def workflows_group() -> None:
    """Export, import and run workflows."""


@workflows_group.command("export")
@user_option
@click.argument("ids", nargs=-1, type=int)
@click.option(
    "--out",
    "out",
    default=".",
    show_default=True,
    help="Directory for the files (stepline-workflow-ID.json), or - for standard output "
    "(one workflow only).",
)
@with_appcontext
def export(email: str, ids: tuple[int, ...], out: str) -> None:
    """Export the user's workflows (all, or those with the given ids), without secrets."""
    session = db.session()
    user = user_by_email(session, email)
    handlers = container().handlers
    try:
        chosen = [crud.get_workflow(session, i, user.id) for i in ids]
    except ServiceError as exc:
        raise _fail(exc) from None
    if not ids:
        chosen = list(session.scalars(crud.select_workflows(user.id)))
    if out == "-":
        if len(chosen) != 1:
            raise click.UsageError("--out - writes one workflow: name exactly one id")
        click.echo(export_document(chosen[0], handlers).model_dump_json(indent=2))
        return
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    for workflow in chosen:
        path = directory / f"stepline-workflow-{workflow.id}.json"
        path.write_text(
            export_document(workflow, handlers).model_dump_json(indent=2) + "\n", encoding="utf-8"
        )
        click.echo(f"{path}\t{workflow.name}")


@workflows_group.command("import")
@user_option
@click.argument("files", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
@with_appcontext
def import_(email: str, files: tuple[IO[str], ...]) -> None:
    """Create a disabled workflow from each export file (the API's or the editor's format)."""
    session = db.session()
    user = user_by_email(session, email)
    stepline = container()
    failed = False
    for file in files:
        try:
            workflow, complete = versions.import_json(
                session, user.id, file.read(), stepline.secrets, stepline.handlers
            )
        except ServiceError as exc:
            session.rollback()
            click.echo(f"{file.name}: not imported: {_fail(exc).message}", err=True)
            failed = True
            continue
        note = "" if complete else " (saved as a draft: fill in its secrets in the editor)"
        click.echo(f"{file.name}\t{workflow.id}\t{workflow.name}{note}")
    if failed:
        raise SystemExit(1)


@workflows_group.command("run")
@user_option
@click.argument("workflow_id", type=int)
@click.option(
    "--data",
    "data_file",
    type=click.File("r", encoding="utf-8"),
    help="Trigger data: a file holding a JSON object, or - for standard input.",
)
@click.option("--wait", is_flag=True, help="Wait for the run to end and print its result.")
@click.option(
    "--dry-run", "dry_run", is_flag=True, help="Steps that send record their request instead."
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds --wait waits.")
@with_appcontext
def run(
    email: str,
    workflow_id: int,
    data_file: IO[str] | None,
    wait: bool,
    dry_run: bool,
    timeout: float,
) -> None:
    """Run a workflow's saved version once, by hand (like the editor's Run now).

    Prints the execution's id; with --wait, the execution as JSON, and exits 0 when it
    completed, 2 when it completed with errors (a continue-on-error step failed), 1 when it
    failed or was cancelled, 3 when it was still running at --timeout."""
    session = db.session()
    user = user_by_email(session, email)
    data = _trigger_data(data_file)
    stepline = container()
    try:
        workflow = crud.get_workflow(session, workflow_id, user.id)
        execution = lifecycle.start(
            session,
            workflow,
            data,
            send=stepline.doorbell.send,
            settings=stepline.settings,
            trigger_type="manual",
            dry_run=dry_run,
        )
    except ServiceError as exc:
        raise _fail(exc) from None
    execution_id = execution.id
    if not wait:
        click.echo(execution_id)
        return
    ended = _wait_for(session, execution_id, user.id, timeout)
    click.echo(execution_out(ended).model_dump_json(indent=2))
    if ended.status not in ExecutionStatus.FINAL:
        found = waiting.first_of(ended.steps) if ended.status == ExecutionStatus.WAITING else None
        how = f"still {ended.status}"
        if found is not None:  # "waiting for a call to its resume URL since …"
            how = found.sentence()[:1].lower() + found.sentence()[1:]
        click.echo(f"execution {execution_id} is {how}", err=True)
        raise SystemExit(EXIT_TIMEOUT)
    if ended.status != ExecutionStatus.COMPLETED:
        raise SystemExit(EXIT_FAILED)
    if ended.has_errors:
        raise SystemExit(EXIT_COMPLETED_WITH_ERRORS)


def _trigger_data(file: IO[str] | None) -> dict[str, Any]:
    if file is None:
        return {}
    try:
        data = json.loads(file.read())
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    if not isinstance(data, dict):
        raise click.BadParameter("the trigger data must be a JSON object", param_hint="--data")
    return data


def _wait_for(session: Session, execution_id: int, owner_id: int, timeout: float) -> Execution:
    receiver.wait_for(container().session_factory, execution_id, timeout)
    session.expire_all()  # the row as the worker left it
    return lifecycle.get_execution(session, execution_id, owner_id)


@click.group("executions")
def executions_group() -> None:
    """Follow executions."""


@executions_group.command("tail")
@user_option
@click.option("--workflow", "workflow_id", type=int, help="Only this workflow's executions.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([status.value for status in ExecutionStatus]),
    help="Only executions in this state (repeat for several), e.g. --status waiting.",
)
@click.option("-n", "--lines", default=10, show_default=True, help="How many to show first.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new runs and status changes.")
@click.option("--for", "seconds", type=float, help="With --follow: stop after this many seconds.")
@with_appcontext
def tail(
    email: str,
    workflow_id: int | None,
    statuses: tuple[str, ...],
    lines: int,
    follow: bool,
    seconds: float | None,
) -> None:
    """Print the latest executions, one line each (a waiting one says for what and until
    when); with --follow, then their changes as they happen (until interrupted, or for --for
    seconds)."""
    session = db.session()
    user = user_by_email(session, email)
    where = filtering.ExecutionFilter(workflow_id=workflow_id, statuses=tuple(statuses))
    seen: dict[int, str] = {}
    _print_changes(session, user.id, where, lines, seen, sys.stdout)
    deadline = None if seconds is None else time.monotonic() + seconds
    while follow and (deadline is None or time.monotonic() < deadline):
        session.rollback()
        time.sleep(0.5)
        _print_changes(session, user.id, where, 100, seen, sys.stdout)


def _print_changes(
    session: Session,
    owner_id: int,
    where: filtering.ExecutionFilter,
    limit: int,
    seen: dict[int, str],
    out: IO[str],
) -> None:
    """Print the newest `limit` executions that are new or changed status since `seen`."""
    stmt = (
        filtering.select_executions(owner_id, where)
        .order_by(Execution.created_at.desc(), Execution.id.desc())
        .limit(limit)
    )
    changed = []
    for execution in reversed(list(session.scalars(stmt))):
        if seen.get(execution.id) == execution.status:
            continue
        seen[execution.id] = execution.status
        changed.append(execution)
    waits = waiting.of_executions(
        session, [e.id for e in changed if e.status == ExecutionStatus.WAITING]
    )
    for execution in changed:
        click.echo(_line(execution, waits.get(execution.id)), file=out)


def _line(execution: Execution, wait: waiting.Waiting | None = None) -> str:
    took = ""
    if execution.started_at and execution.finished_at:
        took = f"{(execution.finished_at - execution.started_at).total_seconds():.2f}s"
    status = execution.status
    if status == ExecutionStatus.COMPLETED and execution.has_errors:
        status = "completed-with-errors"
    return "\t".join(
        [
            str(execution.id),
            status,
            f"workflow {execution.workflow_id}",
            execution.trigger_type,
            execution.created_at.isoformat(timespec="seconds"),
            took,
            execution.error or (wait.sentence() if wait is not None else ""),
        ]
    ).rstrip()


def init_app(app: Flask) -> None:
    app.cli.add_command(workflows_group)
    app.cli.add_command(executions_group)
