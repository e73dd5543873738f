"""All models, importable from one place (Alembic and the app load this module)."""

from __future__ import annotations

from app.models.base import Base
from app.models.connections import Connection, ConnectionStatus, OAuthState
from app.models.credentials import Credential
from app.models.editor import WorkflowDraft, WorkflowVersion
from app.models.executions import Execution, ExecutionStatus, ExecutionStep, StepStatus
from app.models.failure_notices import FailureNotice
from app.models.idempotency import IdempotencyKey
from app.models.trigger_log import ScheduleSlot, SlotStatus, WebhookDelivery
from app.models.user_sessions import UserSession
from app.models.users import ApiToken, User
from app.models.workflows import Action, Trigger, Workflow

__all__ = [
    "Action",
    "ApiToken",
    "Base",
    "Connection",
    "ConnectionStatus",
    "Credential",
    "Execution",
    "ExecutionStatus",
    "ExecutionStep",
    "FailureNotice",
    "IdempotencyKey",
    "OAuthState",
    "ScheduleSlot",
    "SlotStatus",
    "StepStatus",
    "Trigger",
    "User",
    "UserSession",
    "WebhookDelivery",
    "Workflow",
    "WorkflowDraft",
    "WorkflowVersion",
]
