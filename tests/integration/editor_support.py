"""Helpers for the editor's tests: drive the workflow pages as a browser (or htmx) would."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import Execution
from tests.conftest import csrf_token

DATA_FIELD = re.compile(r'data-field="([^"]*)"')


class Editor:
    """One user's browser on the workflow pages; `htmx=True` posts as htmx does."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = csrf_token(client, "/workflows")

    def headers(self, htmx: bool = True, csrf: bool = True) -> dict[str, str]:
        headers = {"HX-Request": "true"} if htmx else {}
        if csrf:
            headers["X-CSRFToken"] = self.token
        return headers

    def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        htmx: bool = True,
        csrf: bool = True,
    ) -> TestResponse:
        form = dict(data or {})
        if not htmx and csrf:
            form["csrf_token"] = self.token
        return self.client.post(path, data=form, headers=self.headers(htmx, csrf))

    def get(self, path: str, *, htmx: bool = False) -> TestResponse:
        return self.client.get(path, headers={"HX-Request": "true"} if htmx else {})

    def create(self, name: str = "Orders") -> int:
        """A new workflow (manual trigger, no steps); returns its id."""
        response = self.post("/workflows", {"name": name}, htmx=False)
        assert response.status_code == 303, response.get_data(as_text=True)
        match = re.search(r"/workflows/(\d+)", response.headers["Location"])
        assert match
        return int(match.group(1))

    def add(self, workflow_id: int, type_: str, at: int = 1000) -> str:
        """Add a step through the palette; returns its key."""
        response = self.post(f"/workflows/{workflow_id}/steps", {"type": type_, "at": at})
        assert response.status_code == 201, response.get_data(as_text=True)
        match = re.search(r'data-step-key="([a-z0-9_]+)"', response.get_data(as_text=True))
        assert match
        return match.group(1)

    def apply(
        self, workflow_id: int, step: str, config: Mapping[str, str], **extra: str
    ) -> TestResponse:
        """Post the step panel with these config inputs (name and key kept unless given)."""
        form = {"name": extra.pop("name", ""), "key": extra.pop("key", step)}
        form.update({f"config.{name}": value for name, value in config.items()})
        form.update(extra)
        return self.post(f"/workflows/{workflow_id}/steps/{step}", form)

    def sample(self, workflow_id: int, sample_json: str) -> TestResponse:
        return self.post(
            f"/workflows/{workflow_id}/trigger", {"type": "manual", "sample_data": sample_json}
        )

    def save(self, workflow_id: int) -> TestResponse:
        return self.post(f"/workflows/{workflow_id}/save")

    def build(self, name: str = "Orders") -> int:
        """A saved workflow: sample {"customer": "Ada", "total": 42}; transform → filter → log."""
        workflow_id = self.create(name)
        self.sample(workflow_id, '{"customer": "Ada", "total": 42}')
        for type_ in ("transform", "filter", "log"):
            self.add(workflow_id, type_)
        ok = [
            self.apply(workflow_id, "transform", {"fields": '{"who": "{{ trigger.customer }}"}'}),
            self.apply(
                workflow_id,
                "filter",
                {
                    "conditions": '[{"left": "{{ trigger.total }}", "operator": "greater_than",'
                    ' "right": 10}]',
                    "match": "all",
                },
            ),
            self.apply(
                workflow_id,
                "log",
                {"message": "Order from {{ steps.transform.who }}", "level": "info"},
            ),
            self.save(workflow_id),
        ]
        assert [r.status_code for r in ok] == [200, 200, 200, 200]
        return workflow_id


def fields(response: TestResponse) -> list[str]:
    """The dotted field paths the answer marks as refused."""
    return DATA_FIELD.findall(response.get_data(as_text=True))


def wait_for_final(app: Flask, execution_id: int, timeout: float = 20.0) -> Execution:
    """Poll the database until the execution reaches a final state (or fail at the deadline)."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            db.session.expire_all()
            execution = db.session.scalar(select(Execution).where(Execution.id == execution_id))
            assert execution is not None
            if execution.status in ("completed", "failed", "cancelled"):
                db.session.expunge(execution)
                return execution
            assert time.monotonic() < deadline, f"execution {execution_id} is {execution.status}"
            time.sleep(0.05)
