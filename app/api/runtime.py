"""What API views hand to the services: the app's secret box, settings, doorbell, admission."""

from __future__ import annotations

from flask import current_app

from app.config import settings_of
from app.crypto import SecretBox
from app.engine.runner import Send
from app.services.admission import Admission, tolerant
from app.settings import Settings
from app.tasks import send_step


def secrets() -> SecretBox:
    """This app's secret box (its runtime's, not the process-wide one: tests run many apps)."""
    box: SecretBox = current_app.extensions["stepline.background"].runtime.secrets
    return box


def settings() -> Settings:
    """This app's typed settings."""
    return settings_of(current_app)


def send() -> Send:
    """Rings the doorbell of a step: a Dramatiq message to the workers. A broker outage after
    the execution's commit is logged, not raised: recovery re-sends the stored execution."""
    return tolerant(send_step)


def admission() -> Admission:
    """The app's back-pressure checks (bound by the hooks blueprint, shared with webhooks)."""
    checks: Admission = current_app.extensions["stepline.admission"]
    return checks
