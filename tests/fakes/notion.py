"""A fake Notion API on a FakeServer: users/me, pages in databases, appended blocks.

It checks what the real API checks first (the bearer token, the Notion-Version header, that
the database exists and each property is one of its properties, of that type) and answers
errors the Notion way: {"object": "error", "status", "code", "message"}. `fail_next` scripts
the next answer (a 429 with Retry-After, a 502).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from tests.fakes.http import FakeServer, RecordedRequest, Reply

DATABASE_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PAGE_ID = "11112222-3333-4444-5555-666677778888"


def notion_error(status: int, code: str, message: str) -> Reply:
    return Reply.json(
        {"object": "error", "status": status, "code": code, "message": message}, status
    )


class FakeNotion:
    """Serves `base_url` (…/v1) from `server`; `pages` and `appended` record what was sent."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.token = f"ntn_{secrets.token_hex(16)}"
        self.databases: dict[str, dict[str, str]] = {
            DATABASE_ID: {
                "Name": "title",
                "Notes": "rich_text",
                "Amount": "number",
                "Status": "select",
                "Paid": "checkbox",
                "Due": "date",
                "Link": "url",
                "Contact": "email",
            }
        }
        self.page_ids = {PAGE_ID}
        self.pages: list[dict[str, Any]] = []
        self.appended: list[tuple[str, list[dict[str, Any]]]] = []
        self._failures: list[Reply] = []
        server.on("GET", "/v1/users/me", self._me)
        server.on("POST", "/v1/pages", self._create_page)
        server.on_prefix("PATCH", "/v1/blocks/", self._append)

    @property
    def base_url(self) -> str:
        return self.server.url("/v1")

    def settings(self) -> dict[str, object]:
        return {"NOTION_API_BASE_URL": self.base_url}

    def reset(self) -> None:
        """Forget what earlier tests sent (the server's own record included)."""
        self.pages.clear()
        self.appended.clear()
        self._failures.clear()
        self.server.requests.clear()

    def fail_next(self, reply: Reply) -> None:
        self._failures.append(reply)

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        if self._failures:
            return self._failures.pop(0)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return notion_error(401, "unauthorized", "API token is invalid.")
        if not request.headers.get("notion-version"):
            return notion_error(400, "missing_version", "Notion-Version header failed validation.")
        return None

    def _me(self, request: RecordedRequest) -> Reply:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        return Reply.json({"object": "user", "type": "bot", "name": "Stepline test integration"})

    def _create_page(self, request: RecordedRequest) -> Reply:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        body = request.json()
        database_id = str(body.get("parent", {}).get("database_id", ""))
        schema = self.databases.get(database_id)
        if schema is None:
            return notion_error(
                404,
                "object_not_found",
                f"Could not find database with ID: {database_id}. Make sure the relevant pages "
                "and databases are shared with your integration.",
            )
        for name, value in body.get("properties", {}).items():
            if name not in schema:
                return notion_error(
                    400, "validation_error", f"{name} is not a property that exists."
                )
            if schema[name] not in value:
                return notion_error(
                    400,
                    "validation_error",
                    f"{name} is expected to be {schema[name]}.",
                )
        page_id = str(uuid.uuid4())
        self.pages.append({"id": page_id, **body})
        return Reply.json(
            {
                "object": "page",
                "id": page_id,
                "url": f"https://www.notion.so/{page_id.replace('-', '')}",
                "created_time": "2026-12-07T01:00:00.000Z",
            }
        )

    def _append(self, request: RecordedRequest) -> Reply:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        block_id = request.path.removeprefix("/v1/blocks/").removesuffix("/children")
        if block_id not in self.page_ids:
            return notion_error(
                404, "object_not_found", f"Could not find block with ID: {block_id}."
            )
        children = request.json().get("children", [])
        self.appended.append((block_id, children))
        results = [{"object": "block", "id": str(uuid.uuid4())} for _ in children]
        return Reply.json({"object": "list", "results": results})
