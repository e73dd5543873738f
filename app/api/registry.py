"""The kinds of actions and triggers this installation knows (built-ins and plugins)."""

from __future__ import annotations

from flask import Response

from app.api.blueprint import bp
from app.api.schemas import ActionKind, ActionKindList, TriggerKind, TriggerKindList, respond
from app.engine.categories import category_of
from app.extensions import container


@bp.get("/actions")
def action_list() -> Response:
    """Every action kind with the JSON Schema of its config."""
    return respond(
        ActionKindList(
            items=[
                ActionKind(
                    type=handler.type,
                    name=handler.name,
                    description=handler.description,
                    sends=handler.sends,
                    category=category_of(handler),
                    config_schema=handler.config_schema(),
                )
                for handler in container().handlers.actions
            ]
        )
    )


@bp.get("/triggers")
def trigger_list() -> Response:
    """Every trigger kind with the JSON Schema of its config."""
    return respond(
        TriggerKindList(
            items=[
                TriggerKind(
                    type=handler.type,
                    name=handler.name,
                    description=handler.description,
                    polling=handler.polling,
                    category=category_of(handler),
                    config_schema=handler.config_schema(),
                )
                for handler in container().handlers.triggers
            ]
        )
    )
