"""Runs of flows with loops and paths, stored as the engine stores them (the contract of issue
20: one row per step run, `frame` and `address` on each, a loop row's input and output, a paths
row's decision), for the execution page, the list and the API to read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from app.extensions import db
from app.models import Execution, ExecutionStep
from app.models.base import utcnow
from tests.dashboard_support import make_workflow

# The snapshot's tree: shape (0, "1"); each (1, "2") looping over price (2, "2/1") and charge
# (3, "2/2"); route (4, "3"), a paths step with branches a (vip: 5, "3/a/1"), b (small: 6,
# "3/b/1") and otherwise (other: 7, "3/otherwise/1").
BIG = {"left": "{{ trigger.body.amount }}", "operator": "greater_than", "right": 100}
SMALL = {"left": "{{ trigger.body.amount }}", "operator": "less_than", "right": 100}
ACTIONS: list[dict[str, Any]] = [
    {"key": "shape", "type": "transform", "name": "Shape the order", "config": {"fields": {}}},
    {
        "key": "each",
        "type": "loop",
        "name": "Each line",
        "config": {"items": "{{ trigger.body.lines }}", "max_items": 1000},
        "steps": [
            {"key": "price", "type": "transform", "name": "Price the line", "config": {}},
            {
                "key": "charge",
                "type": "http_request",
                "name": "Charge the line",
                "continue_on_error": True,
                "config": {"url": "https://pay.example.com/charge", "method": "POST"},
            },
        ],
    },
    {
        "key": "route",
        "type": "paths",
        "name": "Route by size",
        "config": {"mode": "first"},
        "branches": [
            {
                "key": "a",
                "name": "Big orders",
                "condition": {"match": "all", "conditions": [BIG]},
                "steps": [{"key": "vip", "type": "log", "name": "Tell sales", "config": {}}],
            },
            {
                "key": "b",
                "name": "Small orders",
                "condition": {"match": "all", "conditions": [SMALL]},
                "steps": [{"key": "small", "type": "log", "name": "Thank them", "config": {}}],
            },
        ],
        "otherwise": {
            "name": "Otherwise",
            "steps": [{"key": "other", "type": "log", "name": "File it", "config": {}}],
        },
    },
]
FLAT = {
    "name": "Orders by line",
    "steps": [{"key": "shape", "type": "transform", "config": {"fields": {"x": "1"}}}],
}


def _row(position: int, frame: str, address: str, key: str, kind: str, **values: Any) -> Any:
    now = utcnow()
    status = values.pop("status", "completed")
    started = now - timedelta(seconds=2) if status != "pending" else None
    log: list[dict[str, Any]] = []
    if started is not None:
        log = [{"attempt": 1, "started_at": started.isoformat()}]
        if status != "running":
            ended = {"finished_at": now.isoformat(), "ended_by": "worker"}
            error = {"error": values["error"]} if values.get("error") else {}
            log = [{**log[0], **ended, **error}]
    return ExecutionStep(
        position=position,
        frame=frame,
        address=address,
        action_key=key,
        action_type=kind,
        status=status,
        attempts=len(log),
        attempt_log=log,
        started_at=started,
        finished_at=now if status in ("completed", "failed") else None,
        **values,
    )


def paths_decision(amount: int) -> dict[str, Any]:
    """A paths row's output: mode first, branch a taken (amount > 100), b not."""
    return {
        "mode": "first",
        "taken": ["a"] if amount > 100 else ["b"],
        "branches": [
            {
                "key": "a",
                "name": "Big orders",
                "matched": amount > 100,
                "match": "all",
                "conditions": [{**BIG, "left": amount}],
                "results": [amount > 100],
            },
            {
                "key": "b",
                "name": "Small orders",
                "matched": amount < 100,
                "match": "all",
                "conditions": [{**SMALL, "left": amount}],
                "results": [amount < 100],
            },
        ],
        "otherwise": False,
    }


def store_run(
    app: Flask,
    owner_id: int,
    *,
    items: int = 37,
    failed: tuple[int, ...] = (2,),
    amount: int = 250,
    running_at: int | None = None,
) -> int:
    """A finished run (or, with `running_at`, one in iteration `running_at`) of ACTIONS over
    `items` lines, the charge failing in the iterations `failed`; its id."""
    workflow_id = make_workflow(app, owner_id, FLAT)
    lines = [{"sku": f"A{i}", "qty": i % 3 + 1} for i in range(items)]
    trigger = {"body": {"amount": amount, "lines": lines}}
    live = running_at is not None
    with app.app_context():
        session = db.session()
        execution = Execution(
            workflow_id=workflow_id,
            user_id=owner_id,
            status="running" if live else "completed",
            has_errors=bool(failed) and not live,
            trigger_type="webhook",
            trigger_data=trigger,
            snapshot={"workflow": {"name": "Orders by line"}, "actions": ACTIONS},
            workflow_version=1,
            position=2 if live else 8,
            frame=f"1.{running_at}" if live else "",
            started_at=utcnow() - timedelta(seconds=3),
            finished_at=None if live else utcnow(),
        )
        session.add(execution)
        session.flush()
        rows = [_row(0, "", "1", "shape", "transform", output={"amount": amount})]
        loop_out: dict[str, Any] = {"count": items, "items": []}
        if not live:
            loop_out = {"count": items, "items": [{"ok": True}] * items, "failed": len(failed)}
        loop_in = {"items": lines, "max_items": 1000}
        rows.append(
            _row(1, "", "2", "each", "loop", input=loop_in, output=loop_out, status="completed")
        )
        for index in range(items):
            frame = f"1.{index}"
            done = not live or index < running_at  # type: ignore[operator]
            here = live and index == running_at
            price = "completed" if done else ("running" if here else "pending")
            charge = "completed" if done else "pending"
            error = None
            if done and index in failed:
                charge, error = "failed", "HTTP 500 from pay.example.com"
            rows.append(
                _row(
                    2,
                    frame,
                    "2/1",
                    "price",
                    "transform",
                    status=price,
                    output={"price": index * 10} if price == "completed" else None,
                )
            )
            rows.append(
                _row(
                    3,
                    frame,
                    "2/2",
                    "charge",
                    "http_request",
                    status=charge,
                    error=error,
                    output={"status": 200} if charge == "completed" else None,
                )
            )
        if not live:
            rows.append(_row(4, "", "3", "route", "paths", output=paths_decision(amount)))
            taken = (5, "3/a/1", "vip") if amount > 100 else (6, "3/b/1", "small")
            rows.append(_row(taken[0], "", taken[1], taken[2], "log", output={"logged": True}))
        else:
            rows.append(_row(4, "", "3", "route", "paths", status="pending"))
        for row in rows:
            row.execution_id = execution.id
        session.add_all(rows)
        session.commit()
        return execution.id
