"""The authenticated user: GET /api/v1/me."""

from __future__ import annotations

from flask import Response

from app.api import auth
from app.api.blueprint import bp
from app.api.schemas import Me, TokenInfo, respond


@bp.get("/me")
def me_show() -> Response:
    """The user the token belongs to, and the token."""
    user = auth.current_user()
    token = auth.current_token()
    return respond(
        Me(
            id=user.id,
            email=user.email,
            name=user.name,
            created_at=user.created_at,
            token=TokenInfo.model_validate(token),
        )
    )
