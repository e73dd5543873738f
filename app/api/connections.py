"""The user's connected accounts (Google): list them (with the credentials) and revoke one."""

from __future__ import annotations

from flask import Response

from app.api import auth
from app.api.blueprint import bp
from app.api.credential_schemas import ConnectionsOverview
from app.api.credentials import credential_out
from app.api.schemas import ConnectionOut, respond
from app.extensions import container, db
from app.services.connections import store
from app.services.credentials import manage


@bp.get("/connections")
def connection_list() -> Response:
    """The user's connections, revoked ones included."""
    owner = auth.current_user().id
    found = store.list_connections(db.session(), owner)
    credentials = [credential_out(c) for c in manage.list_credentials(db.session(), owner)]
    return respond(
        ConnectionsOverview(
            items=[ConnectionOut.model_validate(c) for c in found], credentials=credentials
        )
    )


@bp.post("/connections/<int:connection_id>/revoke")
def connection_revoke(connection_id: int) -> Response:
    """Ask the provider to revoke the grant and delete the stored tokens."""
    session = db.session()
    stepline = container()
    connection = store.get_connection(session, connection_id, auth.current_user().id)
    revoked = store.revoke(session, stepline.settings, stepline.secrets, connection)
    return respond(ConnectionOut.model_validate(revoked.connection))
