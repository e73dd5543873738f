"""A fake Telegram Bot API on a FakeServer: getMe and sendMessage, on /bot<token>/<method>.

Errors are the Bot API's: {"ok": false, "error_code", "description"} (a 429 also carries
{"parameters": {"retry_after": n}}). `fail_next` scripts the next answer.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.http import FakeServer, RecordedRequest, Reply


def telegram_error(status: int, description: str, **extra: Any) -> Reply:
    return Reply.json(
        {"ok": False, "error_code": status, "description": description, **extra}, status
    )


class FakeTelegram:
    """Serves the Bot API from `server`; `messages` records what was sent, oldest first."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.token = f"123456789:{secrets.token_urlsafe(27)}"
        self.chats = {"42": "private", "-1001234567890": "supergroup", "@stepline_news": "channel"}
        self.messages: list[dict[str, Any]] = []
        self._failures: list[Reply] = []
        server.on_prefix("POST", "/bot", self._call)
        server.on_prefix("GET", "/bot", self._call)

    @property
    def base_url(self) -> str:
        return self.server.url("")

    def settings(self) -> dict[str, object]:
        return {"TELEGRAM_API_BASE_URL": self.base_url}

    def reset(self) -> None:
        """Forget what earlier tests sent (the server's own record included)."""
        self.messages.clear()
        self._failures.clear()
        self.server.requests.clear()

    def fail_next(self, reply: Reply) -> None:
        self._failures.append(reply)

    def _call(self, request: RecordedRequest) -> Reply:
        if self._failures:
            return self._failures.pop(0)
        token, _, method = request.path.removeprefix("/bot").partition("/")
        if token != self.token:
            return telegram_error(401, "Unauthorized")
        if method == "getMe":
            return Reply.json(
                {
                    "ok": True,
                    "result": {"id": 123456789, "is_bot": True, "username": "stepline_bot"},
                }
            )
        if method != "sendMessage":
            return telegram_error(404, "Not Found")
        payload = request.json()
        chat_id = str(payload.get("chat_id", ""))
        if chat_id not in self.chats:
            return telegram_error(400, "Bad Request: chat not found")
        if not str(payload.get("text", "")).strip():
            return telegram_error(400, "Bad Request: message text is empty")
        self.messages.append(payload)
        message_id = len(self.messages)
        chat = {
            "id": int(chat_id) if chat_id.lstrip("-").isdigit() else -100777,
            "type": self.chats[chat_id],
        }
        return Reply.json(
            {
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "chat": chat,
                    "date": 1796605200,
                    "text": payload["text"],
                },
            }
        )
