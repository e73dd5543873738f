"""A fake Slack on a FakeServer: incoming webhooks and the Web API's chat.postMessage.

It answers the way Slack documents: a webhook replies 200 "ok" or an error code as text with
a 4xx; chat.postMessage replies JSON {"ok": ..., "error": ...}; rate limits are 429 with
Retry-After. `fail_next` scripts a failure for the next call.
"""

from __future__ import annotations

import secrets
from typing import Any

from tests.fakes.http import FakeServer, RecordedRequest, Reply


class FakeSlack:
    """Serves `webhook_url` and `api_base_url` from `server`; records the messages posted."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.webhook_path = f"/services/T0001/B0002/{secrets.token_hex(12)}"
        self.token = f"xoxb-{secrets.token_hex(12)}"
        self.channels = {"C0001": "general"}
        self.messages: list[dict[str, Any]] = []
        self._failures: list[Reply] = []
        server.on("POST", self.webhook_path, self._webhook)
        server.on("POST", "/api/chat.postMessage", self._post_message)

    @property
    def webhook_url(self) -> str:
        return self.server.url(self.webhook_path)

    @property
    def api_base_url(self) -> str:
        return self.server.url("/api")

    def fail_next(self, reply: Reply) -> None:
        """Answer the next call (webhook or API) with `reply`."""
        self._failures.append(reply)

    def _webhook(self, request: RecordedRequest) -> Reply:
        if self._failures:
            return self._failures.pop(0)
        try:
            payload = request.json()
        except ValueError:
            return Reply.text("invalid_payload", 400)
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return Reply.text("no_text", 400)
        if "blocks" in payload and not isinstance(payload["blocks"], list):
            return Reply.text("invalid_blocks", 400)
        self.messages.append({"via": "webhook", **payload})
        return Reply.text("ok")

    def _post_message(self, request: RecordedRequest) -> Reply:
        if self._failures:
            return self._failures.pop(0)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply.json({"ok": False, "error": "invalid_auth"})
        payload = request.json()
        channel = str(payload.get("channel", ""))
        by_name = {f"#{name}": cid for cid, name in self.channels.items()}
        channel_id = channel if channel in self.channels else by_name.get(channel)
        if channel_id is None:
            return Reply.json({"ok": False, "error": "channel_not_found"})
        ts = f"1700000000.{len(self.messages) + 1:06d}"
        self.messages.append({"via": "bot", **payload, "channel": channel_id, "ts": ts})
        return Reply.json({"ok": True, "channel": channel_id, "ts": ts})
