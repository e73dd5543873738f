"""LLM chat: one chat completion from any OpenAI-compatible server (an `openai` credential:
base URL, API key, default model): system and user messages from templates, the answer as
text, parsed JSON when asked, and the tokens used."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.service_calls import Service, budget_key, call_json
from app.credentials.fields import credential_field
from app.engine.context import StepContext
from app.engine.errors import ActionError

LLM = Service("The model server", "openai")
FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)
MAX_EXCERPT_CHARS = 200


class LlmChatConfig(ActionConfig):
    """The messages, the model and how it answers."""

    credential_id: int = credential_field(
        kinds=("openai",), default=..., description="The OpenAI-compatible API to ask."
    )
    system: str = Field(
        "", max_length=100_000, description="System message: how the model should behave."
    )
    prompt: str = Field(min_length=1, max_length=200_000, description="User message; templated.")
    model: str = Field(
        "", max_length=200, description="Model name; empty: the credential's default model."
    )
    temperature: float | None = Field(
        None,
        ge=0,
        le=2,
        description="Sampling temperature (0: most predictable); empty: the server's default.",
    )
    max_tokens: int | None = Field(
        None, ge=1, le=200_000, description="Most tokens the answer may use; empty: no limit."
    )
    json_mode: bool = Field(
        False,
        description=(
            "Ask for a JSON object and parse it into `json` (the step fails if the answer "
            "is not JSON). Say in the messages what JSON you want."
        ),
    )


def parse_json_answer(text: str) -> Any:
    """The answer parsed as JSON (a ```json fence around it is allowed); ActionError if not."""
    fenced = FENCE.match(text)
    candidate = fenced.group(1) if fenced else text
    try:
        return json.loads(candidate)
    except ValueError:
        excerpt = " ".join(text.split())[:MAX_EXCERPT_CHARS]
        raise ActionError(
            f"The model's answer is not JSON (json_mode is on): {excerpt!r}", retryable=False
        ) from None


class LlmChatAction(BaseActionHandler):
    """Ask a language model (any OpenAI-compatible server) and return its answer."""

    type = "llm_chat"
    category = "AI"
    name = "AI: chat completion"
    description = (
        "Ask a language model on any OpenAI-compatible server (OpenAI, a local server, a "
        "gateway): system and user messages, model, temperature, token limit, JSON mode; "
        "returns the text, parsed JSON when asked, and the tokens used."
    )
    Config = LlmChatConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: LlmChatConfig) -> dict[str, Any]:
        """POST <base>/chat/completions; the answer, the model and the usage."""
        fields = context.credential(config.credential_id, ("openai",))
        api_key = str(fields["api_key"])
        model = config.model or str(fields.get("default_model") or "")
        if not model:
            raise ActionError(
                "No model: set one on the step or on the credential.", retryable=False
            )
        messages = [{"role": "system", "content": config.system}] if config.system else []
        messages.append({"role": "user", "content": config.prompt})
        payload: dict[str, Any] = {"model": model, "messages": messages}
        if config.temperature is not None:
            payload["temperature"] = config.temperature
        if config.max_tokens is not None:
            payload["max_tokens"] = config.max_tokens
        if config.json_mode:
            payload["response_format"] = {"type": "json_object"}
        _response, body = call_json(
            context,
            LLM,
            "POST",
            str(fields["base_url"]).rstrip("/") + "/chat/completions",
            payload=payload,
            headers={"Authorization": f"Bearer {api_key}"},
            secrets=[api_key],
            key=budget_key(config.credential_id, api_key, LLM),
        )
        choice, text = _first_choice(body)
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        output: dict[str, Any] = {
            "text": text,
            "model": body.get("model") or model,
            "finish_reason": choice.get("finish_reason"),
            "usage": {
                name: usage.get(name)
                for name in ("prompt_tokens", "completion_tokens", "total_tokens")
            },
        }
        if config.json_mode:
            output["json"] = parse_json_answer(text)
        context.log.info("llm_chat answered with %s tokens", output["usage"]["total_tokens"])
        return output


def _first_choice(body: Any) -> tuple[dict[str, Any], str]:
    """The first choice and its message's text; ActionError when the answer has neither."""
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(choice, dict) or not isinstance(content, str):
        raise ActionError(
            "The model server's answer has no message (not an OpenAI-compatible chat completion).",
            retryable=False,
        )
    return choice, content
