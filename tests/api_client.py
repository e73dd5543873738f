"""A script's view of the JSON API in tests: a bearer token, JSON in and out, polling."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.extensions import db
from app.services.accounts import api_tokens, users
from tests.conftest import PASSWORD, TEST_PASSWORD_HASH

FINAL = ("completed", "failed", "cancelled")


def issue_token(app: Flask, email: str = "alice@example.com", name: str = "script") -> str:
    """Register `email` (once) and return the secret of a new token of theirs."""
    with app.app_context():
        session = db.session()
        user = users.find_by_email(session, email) or users.register(
            session, email=email, password=PASSWORD, hash_method=TEST_PASSWORD_HASH
        )
        return api_tokens.create_token(session, user, name).secret


@dataclass
class Api:
    """Calls /api/v1 with one user's token, as a script would."""

    client: FlaskClient
    token: str

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(f"/api/v1{path}", query_string=query, headers=self.headers())

    def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> TestResponse:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers(headers))

    def put(self, path: str, json: Any) -> TestResponse:
        return self.client.put(f"/api/v1{path}", json=json, headers=self.headers())

    def delete(self, path: str) -> TestResponse:
        return self.client.delete(f"/api/v1{path}", headers=self.headers())

    def create(self, spec: dict[str, Any], enable: bool = False) -> dict[str, Any]:
        """Create a workflow (and enable it); its JSON."""
        response = self.post("/workflows", spec)
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        if enable:
            enabled = self.post(f"/workflows/{body['id']}/enable")
            assert enabled.status_code == 200, enabled.get_json()
            body = enabled.get_json()
        return body

    def trigger(self, workflow_id: int, data: dict[str, Any] | None = None) -> int:
        response = self.post(f"/workflows/{workflow_id}/trigger", data or {})
        assert response.status_code == 202, response.get_json()
        return int(response.get_json()["id"])

    def wait(self, execution_id: int, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the execution until it is final (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/executions/{execution_id}")
            assert response.status_code == 200, response.get_json()
            body: dict[str, Any] = response.get_json()
            if body["status"] in FINAL:
                return body
            assert time.monotonic() < deadline, f"execution still {body['status']}: {body}"
            time.sleep(0.02)


def error_of(response: TestResponse) -> dict[str, str]:
    """The one error shape: {"error": {"code", "message", "field"?}}; returns the inner part."""
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) <= {"code", "message", "field"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])
