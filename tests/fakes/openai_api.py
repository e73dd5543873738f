"""A fake OpenAI-compatible API on a FakeServer: GET /v1/models and POST /v1/chat/completions.

`answer` is the assistant's reply (text, or a callable of the request's JSON); errors are
OpenAI's {"error": {"message", "type", "code"}}. `fail_next` scripts the next answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from tests.fakes.http import FakeServer, RecordedRequest, Reply

MODELS = ("tiny-model", "json-model")


def openai_error(
    status: int, message: str, code: str, type_: str = "invalid_request_error"
) -> Reply:
    return Reply.json({"error": {"message": message, "type": type_, "code": code}}, status)


class FakeOpenAI:
    """Serves `base_url` (…/v1); `requests` records each chat completion's JSON."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.api_key = f"sk-test-{secrets.token_hex(16)}"
        self.answer: str | Callable[[dict[str, Any]], str] = "Hello from the fake model."
        self.requests: list[dict[str, Any]] = []
        self._failures: list[Reply] = []
        server.on("GET", "/v1/models", self._models)
        server.on("POST", "/v1/chat/completions", self._complete)

    @property
    def base_url(self) -> str:
        return self.server.url("/v1")

    def fields(self, **overrides: Any) -> dict[str, Any]:
        """The fields of an `openai` credential for this server."""
        return {
            "base_url": self.base_url,
            "api_key": self.api_key,
            "default_model": MODELS[0],
            **overrides,
        }

    def reset(self) -> None:
        """Forget what earlier tests sent and answer the default text again."""
        self.answer = "Hello from the fake model."
        self.requests.clear()
        self._failures.clear()
        self.server.requests.clear()

    def fail_next(self, reply: Reply) -> None:
        self._failures.append(reply)

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        if self._failures:
            return self._failures.pop(0)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return openai_error(401, "Incorrect API key provided.", "invalid_api_key")
        return None

    def _models(self, request: RecordedRequest) -> Reply:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        return Reply.json(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]}
        )

    def _complete(self, request: RecordedRequest) -> Reply:
        refusal = self._refusal(request)
        if refusal:
            return refusal
        body = request.json()
        if body.get("model") not in MODELS:
            return openai_error(
                404, f"The model `{body.get('model')}` does not exist.", "model_not_found"
            )
        self.requests.append(body)
        text = self.answer(body) if callable(self.answer) else self.answer
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_tokens = len(text.split())
        return Reply.json(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )
