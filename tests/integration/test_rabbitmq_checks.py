"""/readyz and `flask doctor` with RabbitMQ as the broker: reachable or not (never naming the
password), its queues never checked as Redis, and rate limits counted per process flagged."""

from __future__ import annotations

from app.ops import checks
from app.ops.checks import Level
from app.ops.doctor import _processes
from app.settings import Settings
from tests.rabbitmq import RABBITMQ_URL


def test_a_reachable_rabbitmq_is_ok_and_not_checked_as_redis() -> None:
    settings = Settings(broker_url=RABBITMQ_URL)
    check = checks.broker(settings)
    assert check.level is Level.OK, check.detail
    assert check.detail.startswith("RabbitMQ at amqp://guest:***@127.0.0.1:5672")
    assert checks.redis_persistence(settings) == []


def test_an_unreachable_rabbitmq_fails_without_its_password() -> None:
    check = checks.broker(Settings(broker_url="amqp://stepline:hunter2secret@127.0.0.1:1/prod"))
    assert check.level is Level.FAIL
    assert "unreachable" in check.detail and "hunter2secret" not in check.detail


def test_doctor_warns_when_rate_limits_are_counted_per_process() -> None:
    alone = {c.name: c for c in _processes(Settings(broker_url=RABBITMQ_URL))}
    assert alone["rate limits"].level is Level.WARN
    assert alone["embedded worker"].level is Level.OK
    shared = Settings(broker_url=RABBITMQ_URL, redis_url="redis://127.0.0.1:6379/0")
    assert "rate limits" not in {c.name for c in _processes(shared)}
