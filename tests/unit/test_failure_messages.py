"""The words of a failure notice and the links in it: one run, a count after a notice, a count
without one, a run deleted since; Slack's control characters escaped; links on the public URL."""

from __future__ import annotations

from datetime import UTC, datetime

from app.services.executions.failure_details import (
    FailedStep,
    Failure,
    execution_url,
    failed_runs_url,
)
from app.services.executions.failure_messages import compose
from app.settings import Settings

PUBLIC = Settings(public_url="https://stepline.example.com/app/")
AT = datetime(2026, 12, 7, 5, 12, tzinfo=UTC)


def failure(execution_id: int = 42) -> Failure:
    return Failure(
        workflow_id=3,
        workflow_name="Sync <CRM> & co",
        execution_id=execution_id,
        url=execution_url(PUBLIC, execution_id),
        error="HTTP 500 from <https://crm.example>",
        step=FailedStep("push", "Push contact", "http_request", "4/b/2"),
        trigger_type="webhook",
        started_at=None,
        finished_at=None,
        trigger_data={},
    )


def words(**changes: object) -> tuple[str, str, str]:
    given: dict[str, object] = {
        "workflow_id": 3,
        "workflow_name": "Sync <CRM> & co",
        "failure": failure(),
        "count": 1,
        "last_sent_at": None,
        "first_pending_at": AT,
        "every_minutes": 10,
        **changes,
    }
    message = compose(PUBLIC, **given)  # type: ignore[arg-type]
    return message.subject, message.text, message.slack


def test_the_links_are_on_the_public_url() -> None:
    assert execution_url(PUBLIC, 42) == "https://stepline.example.com/app/executions/42"
    assert execution_url(Settings(), 42) == "http://localhost:5000/executions/42"
    assert failed_runs_url(PUBLIC, 3) == (
        "https://stepline.example.com/app/workflows/3/executions?status=failed"
    )


def test_one_failed_run() -> None:
    subject, text, slack = words()
    assert subject == "[Stepline] “Sync <CRM> & co” failed"
    where = "step 4 \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} branch b"
    assert f"Run #42 of “Sync <CRM> & co” failed at {where}" in text
    assert "step 2 “Push contact” (http_request):\nHTTP 500 from" in text
    assert "See the run: https://stepline.example.com/app/executions/42" in text
    assert "All failed runs" not in text
    # Slack reads <…> as links and & as an entity: the names and the error are escaped
    assert "Sync &lt;CRM&gt; &amp; co" in slack
    assert "> HTTP 500 from &lt;https://crm.example&gt;" in slack
    assert "<https://stepline.example.com/app/executions/42|See run #42>" in slack


def test_a_count_after_a_notice_names_the_latest_run() -> None:
    subject, text, slack = words(count=4, last_sent_at=AT, failure=failure(57))
    assert subject == "[Stepline] “Sync <CRM> & co”: 4 more failures"
    assert text.startswith("4 more failures since the last notice (2026-12-07 05:12 UTC).")
    assert "The latest, run #57, failed at step 4" in text
    assert "All failed runs: https://stepline.example.com/app/workflows/3/executions" in text
    assert "*4 more failures since the last notice (2026-12-07 05:12 UTC).*" in slack


def test_a_count_without_a_notice_and_a_run_deleted_since() -> None:
    subject, text, _ = words(count=5, failure=None)
    assert subject == "[Stepline] “Sync <CRM> & co”: 5 failures"
    assert text.startswith("5 failures since 2026-12-07 05:12 UTC.")
    assert "See the run" not in text
    assert "All failed runs:" in text
