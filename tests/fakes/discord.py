"""A fake Discord webhook on a FakeServer: POST /api/webhooks/<id>/<token>(?wait=true).

Errors are Discord's: {"message", "code"}; a 429 carries {"retry_after": seconds} and a
Retry-After header. `fail_next` scripts the next answer.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.http import FakeServer, RecordedRequest, Reply


class FakeDiscord:
    """One channel webhook; `messages` records what was posted, oldest first."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.webhook_path = f"/api/webhooks/1180000000000000001/{secrets.token_urlsafe(48)}"
        self.messages: list[dict[str, Any]] = []
        self.queries: list[dict[str, list[str]]] = []
        self._failures: list[Reply] = []
        server.on_prefix("POST", "/api/webhooks/", self._post)

    @property
    def webhook_url(self) -> str:
        return self.server.url(self.webhook_path)

    def reset(self) -> None:
        """Forget what earlier tests sent (the server's own record included)."""
        self.messages.clear()
        self.queries.clear()
        self._failures.clear()
        self.server.requests.clear()

    def fail_next(self, reply: Reply) -> None:
        self._failures.append(reply)

    def _post(self, request: RecordedRequest) -> Reply:
        if self._failures:
            return self._failures.pop(0)
        if request.path != self.webhook_path:
            return Reply.json({"message": "Unknown Webhook", "code": 10015}, 404)
        payload = request.json()
        if not str(payload.get("content") or "").strip():
            return Reply.json({"message": "Cannot send an empty message", "code": 50006}, 400)
        self.messages.append(payload)
        self.queries.append(request.query)
        if request.query.get("wait") != ["true"]:
            return Reply(204)
        return Reply.json(
            {
                "id": str(1180000000000000100 + len(self.messages)),
                "channel_id": "1180000000000000050",
                "content": payload["content"],
            }
        )
