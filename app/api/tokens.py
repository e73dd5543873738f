"""API tokens: list the caller's tokens, create one (with a `write` token), revoke one.

Creating answers the secret once; it is never stored, so it cannot be replayed either: this POST
takes no Idempotency-Key (a stored answer would keep the secret)."""

from __future__ import annotations

from flask import Response

from app.api import auth
from app.api.blueprint import bp
from app.api.bodies import parse_body
from app.api.schemas import TokenCreate, TokenCreated, TokenInfo, TokenList, no_content, respond
from app.extensions import db
from app.services.accounts import api_tokens
from app.services.errors import InvalidInputError


@bp.get("/tokens")
def token_list() -> Response:
    """The caller's tokens that are not revoked, newest first; never their secrets."""
    tokens = api_tokens.list_tokens(db.session(), auth.current_user())
    return respond(TokenList(items=[TokenInfo.model_validate(token) for token in tokens]))


@bp.post("/tokens")
def token_create() -> Response:
    """Issue a token; the answer holds its secret, this once."""
    body = parse_body(TokenCreate)
    try:
        issued = api_tokens.create_token(
            db.session(),
            auth.current_user(),
            body.name,
            scope=body.scope,
            expires_in_days=body.expires_in_days,
        )
    except api_tokens.TokenError as exc:
        raise InvalidInputError(str(exc), exc.field) from None
    info = TokenInfo.model_validate(issued.token)
    response = respond(TokenCreated(**info.model_dump(), token=issued.secret), 201)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/tokens/<int:token_id>")
def token_revoke(token_id: int) -> Response:
    """Revoke one of the caller's tokens (the one making the request too): it fails at once."""
    session = db.session()
    token = api_tokens.get_token_or_404(session, token_id, owner=auth.current_user())
    api_tokens.revoke_token(session, token)
    return no_content()
