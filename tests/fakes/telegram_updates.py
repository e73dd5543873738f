"""A fake Telegram Bot API's getUpdates on a FakeServer (/bot<token>/getUpdates).

It keeps updates as Telegram does: each has an increasing update_id; a call with `offset`
confirms (forgets) every update before it and returns up to `limit` from there; a call without
one returns the oldest unconfirmed ones. `send` adds a message from a user in a chat;
`fail_next` scripts the next answer (a 429 with parameters.retry_after, a 409 webhook conflict).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

from tests.fakes.http import FakeServer, RecordedRequest, Reply


def bot_error(status: int, description: str, **extra: Any) -> Reply:
    return Reply.json(
        {"ok": False, "error_code": status, "description": description, **extra}, status
    )


class FakeTelegramUpdates:
    """The updates of one bot, served from `server`; `calls` are the getUpdates asked."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.token = f"987654321:{secrets.token_urlsafe(27)}"
        self.updates: list[dict[str, Any]] = []
        self.calls: list[dict[str, str]] = []
        self._next_id = 700_000
        self._failures: list[Reply] = []
        self._lock = threading.Lock()
        server.on_prefix("GET", "/bot", self._call)

    @property
    def base_url(self) -> str:
        return self.server.url("")

    def settings(self) -> dict[str, object]:
        return {"TELEGRAM_API_BASE_URL": self.base_url, "OUTBOUND_ALLOWLIST": ("127.0.0.1/32",)}

    def fail_next(self, reply: Reply) -> None:
        self._failures.append(reply)

    def send(
        self, text: str, chat_id: int = 42, *, channel: str = "", at: float | None = None
    ) -> int:
        """A message (or, with `channel`, a channel post) to the bot; its update_id."""
        with self._lock:
            self._next_id += 1
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": "Ada"}
            if channel:
                chat = {"id": chat_id, "type": "channel", "title": channel, "username": channel}
            message = {
                "message_id": self._next_id - 700_000,
                "date": int(at if at is not None else time.time()),
                "chat": chat,
                "text": text,
            }
            if channel:
                update = {"update_id": self._next_id, "channel_post": message}
            else:
                message["from"] = {"id": chat_id, "is_bot": False, "first_name": "Ada"}
                update = {"update_id": self._next_id, "message": message}
            self.updates.append(update)
            return self._next_id

    def _call(self, request: RecordedRequest) -> Reply:
        token, _, method = request.path.removeprefix("/bot").partition("/")
        query = {k: v[-1] for k, v in request.query.items()}
        self.calls.append(query)
        if self._failures:
            return self._failures.pop(0)
        if token != self.token:
            return bot_error(401, "Unauthorized")
        if method != "getUpdates":
            return bot_error(404, "Not Found")
        allowed = json.loads(query.get("allowed_updates", "[]")) or ["message", "channel_post"]
        limit = int(query.get("limit", "100"))
        with self._lock:
            if "offset" in query:
                offset = int(query["offset"])
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            listed = [u for u in self.updates if any(k in u for k in allowed)][:limit]
        return Reply.json({"ok": True, "result": listed})
