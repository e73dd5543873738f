"""Notion actions: create a page in a database (properties mapped field by field) and append
text blocks to a page or block, through the Notion API with a `notion` credential."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.service_calls import Service, budget_key, call_json
from app.credentials.fields import credential_field
from app.engine.context import StepContext

NOTION_VERSION = "2022-06-28"
MAX_TEXT_CHARS = 2000  # Notion's limit on one rich-text object
MAX_BLOCKS = 100  # Notion's limit on the children of one request
NOTION_ID = re.compile(
    r"(?<![0-9a-fA-F])([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?"
    r"([0-9a-fA-F]{12})(?![0-9a-fA-F])"
)
TRUE_WORDS = frozenset({"true", "yes", "on", "1", "checked"})
FALSE_WORDS = frozenset({"false", "no", "off", "0", "", "unchecked"})
PropertyType = Literal["title", "rich_text", "number", "select", "checkbox", "date", "url", "email"]
BlockType = Literal[
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "quote",
]


def _notion_message(body: Any) -> str | None:
    """Notion's errors: {"object": "error", "code": "validation_error", "message": "..."}."""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        code = body.get("code")
        return f"{code}: {body['message']}" if code else body["message"]
    return None


NOTION = Service("Notion", "notion", _notion_message)


def notion_id(value: str) -> str:
    """A page, database or block id from an id (with or without dashes) or a Notion URL."""
    path = value.split("?", 1)[0].split("#", 1)[0]
    found = NOTION_ID.findall(path)
    if not found:
        raise ValueError("must be a Notion id (32 hexadecimal digits) or a Notion URL")
    return "-".join(found[-1]).lower()


def rich_text(text: str) -> list[dict[str, Any]]:
    """Text as Notion rich-text objects of at most MAX_TEXT_CHARS each."""
    return [
        {"type": "text", "text": {"content": text[i : i + MAX_TEXT_CHARS]}}
        for i in range(0, len(text), MAX_TEXT_CHARS)
    ]


class NotionProperty(BaseModel):
    """One database property of the new page: its name, its type, and the value to set."""

    model_config = ConfigDict(extra="forbid")

    property: str = Field(min_length=1, max_length=200, description="The property's name.")
    type: PropertyType = Field(description="The property's type in the database.")
    value: str | int | float | bool | None = Field(
        None, description="The value; templated (text for title, rich_text, select, url…)."
    )

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        # A field check (not a model check), so that its error names `value`: a template
        # there is checked once rendered.
        kind = info.data.get("type")
        return value if kind is None else _checked(kind, value)


def _checked(kind: str, value: Any) -> Any:
    """The value converted for its property type; ValueError naming what is wrong."""
    text = "" if value is None else str(value).strip()
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"a number property needs a number, not {text[:40]!r}") from None
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise ValueError(f"a checkbox property needs true or false, not {text[:40]!r}")
    if kind == "date" and text:
        try:
            (datetime if "T" in text else date).fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"a date property needs an ISO date (2026-12-07 or 2026-12-07T10:00:00Z), "
                f"not {text[:40]!r}"
            ) from None
    if kind in ("title", "rich_text"):
        return "" if value is None else str(value)
    return text or None


def property_value(kind: str, value: Any) -> dict[str, Any]:
    """A property's value in the shape the Notion API takes for its type."""
    if kind in ("title", "rich_text"):
        return {kind: rich_text(value or "")}
    if kind == "select":
        return {"select": {"name": value} if value else None}
    if kind == "date":
        return {"date": {"start": value} if value else None}
    return {kind: value}


class NotionCreatePageConfig(ActionConfig):
    """The database, and the value of each property of the new page."""

    credential_id: int = credential_field(
        kinds=("notion",), default=..., description="The Notion integration token to use."
    )
    database_id: str = Field(
        min_length=32,
        max_length=2000,
        description="The database's id, or its URL (the integration must be added to it).",
    )
    properties: list[NotionProperty] = Field(
        min_length=1,
        max_length=100,
        description=(
            'Properties of the page: a list of {"property": "Name", "type": "title", '
            '"value": "{{ trigger.name }}"}; types: title, rich_text, number, select, '
            "checkbox, date, url, email. One title property is required."
        ),
        json_schema_extra={"format": "json"},
    )
    content: str = Field(
        "",
        max_length=100_000,
        description="Text of the page; each non-empty line becomes a paragraph. Templated.",
    )

    _id = field_validator("database_id")(notion_id)

    @model_validator(mode="after")
    def _one_title(self) -> NotionCreatePageConfig:
        titles = [p for p in self.properties if p.type == "title"]
        if len(titles) != 1:
            raise ValueError("give exactly one property of type title")
        names = [p.property for p in self.properties]
        if len(set(names)) != len(names):
            raise ValueError("each property may be set once")
        return self


class NotionAppendBlockConfig(ActionConfig):
    """The page or block to append to, and the text of the new blocks."""

    credential_id: int = credential_field(
        kinds=("notion",), default=..., description="The Notion integration token to use."
    )
    block_id: str = Field(
        min_length=32,
        max_length=2000,
        description="The page or block to append to: its id, or its URL.",
    )
    block_type: BlockType = Field("paragraph", description="The kind of block to add.")
    text: str = Field(min_length=1, max_length=200_000, description="The text; templated.")
    split_lines: bool = Field(
        True, description="Each non-empty line becomes a block (off: one block of all the text)."
    )

    _id = field_validator("block_id")(notion_id)

    @model_validator(mode="after")
    def _not_too_many(self) -> NotionAppendBlockConfig:
        if len(text_blocks(self.block_type, self.text, self.split_lines)) > MAX_BLOCKS:
            raise ValueError(f"at most {MAX_BLOCKS} blocks can be added at once")
        return self


def text_blocks(block_type: str, text: str, split_lines: bool = True) -> list[dict[str, Any]]:
    """Blocks of `block_type` holding `text`: one per non-empty line, or one in all."""
    pieces = [line for line in text.splitlines() if line.strip()] if split_lines else [text]
    return [
        {"object": "block", "type": block_type, block_type: {"rich_text": rich_text(piece)}}
        for piece in pieces
        if piece
    ]


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Notion-Version": NOTION_VERSION}


def _base(context: StepContext) -> str:
    return context.settings.notion_api_base_url.rstrip("/")


class NotionCreatePageAction(BaseActionHandler):
    """Create a page in a Notion database, setting its properties from the step's fields."""

    type = "notion_create_page"
    category = "Data"
    name = "Notion: create database page"
    description = (
        "Create a page in a Notion database: each property (title, text, number, select, "
        "checkbox, date, URL, email) from a templated value, and optional text content."
    )
    Config = NotionCreatePageConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: NotionCreatePageConfig) -> dict[str, Any]:
        """POST /pages; the new page's id and URL."""
        token = str(context.credential(config.credential_id, ("notion",))["token"])
        payload: dict[str, Any] = {
            "parent": {"database_id": config.database_id},
            "properties": {p.property: property_value(p.type, p.value) for p in config.properties},
        }
        children = text_blocks("paragraph", config.content)
        if children:
            payload["children"] = children[:MAX_BLOCKS]
        _response, body = call_json(
            context,
            NOTION,
            "POST",
            f"{_base(context)}/pages",
            payload=payload,
            headers=_headers(token),
            secrets=[token],
            key=budget_key(config.credential_id, token, NOTION),
        )
        context.log.info("notion page created")
        page = body if isinstance(body, dict) else {}
        return {
            "id": page.get("id"),
            "url": page.get("url"),
            "created_time": page.get("created_time"),
        }


class NotionAppendBlockAction(BaseActionHandler):
    """Append paragraphs, headings or list items to a Notion page or block."""

    type = "notion_append_block"
    category = "Data"
    name = "Notion: append to page"
    description = (
        "Append text blocks (paragraphs, headings, bulleted or numbered items, quotes) to a "
        "Notion page or block."
    )
    Config = NotionAppendBlockConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client

    def execute(self, context: StepContext, config: NotionAppendBlockConfig) -> dict[str, Any]:
        """PATCH /blocks/<id>/children; the ids of the blocks added."""
        token = str(context.credential(config.credential_id, ("notion",))["token"])
        blocks = text_blocks(config.block_type, config.text, config.split_lines)
        _response, body = call_json(
            context,
            NOTION,
            "PATCH",
            f"{_base(context)}/blocks/{config.block_id}/children",
            payload={"children": blocks},
            headers=_headers(token),
            secrets=[token],
            key=budget_key(config.credential_id, token, NOTION),
        )
        results = body.get("results") if isinstance(body, dict) else None
        ids = [b.get("id") for b in results or [] if isinstance(b, dict)]
        context.log.info("notion blocks appended: %d", len(blocks))
        return {"block_id": config.block_id, "added": len(blocks), "block_ids": ids[-len(blocks) :]}
