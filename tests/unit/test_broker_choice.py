"""app.broker picks the broker from its URL, with no code edit: STEPLINE_BROKER_URL, else
REDIS_URL; amqp:// is RabbitMQ (queues named by STEPLINE_QUEUE_PREFIX), redis:// Redis (keys
in that namespace), neither the in-process StubBroker. Building a broker connects to nothing."""

from __future__ import annotations

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from app import broker as brokers
from app.settings import Settings, SettingsError


def _doorbell(**settings: str) -> brokers.Doorbell:
    typed = Settings.model_validate({"queue_prefix": "acme", **settings})
    return brokers.Doorbell(brokers.build(typed), typed.queue_prefix)


def test_an_amqp_url_is_rabbitmq_with_the_prefix_in_the_queue_name() -> None:
    doorbell = _doorbell(broker_url="amqp://u:p@rabbit.internal:5672/prod")
    assert isinstance(doorbell.broker, RabbitmqBroker)
    assert doorbell.queue == "acme.steps"


def test_the_broker_url_wins_over_redis_url_which_keeps_the_rate_limits() -> None:
    settings = Settings(broker_url="amqp://rabbit/", redis_url="redis://cache:6379/0")
    assert settings.broker_location == "amqp://rabbit/"
    assert settings.limit_storage_uri == "redis://cache:6379/0"
    assert isinstance(brokers.build(settings), RabbitmqBroker)


@pytest.mark.parametrize(
    "settings", [{"redis_url": "redis://cache:6379/0"}, {"broker_url": "redis://cache:6379/1"}]
)
def test_a_redis_url_is_redis_with_the_prefix_as_key_namespace(settings: dict[str, str]) -> None:
    doorbell = _doorbell(**settings)
    assert isinstance(doorbell.broker, RedisBroker)
    assert (doorbell.broker.namespace, doorbell.queue) == ("acme", "steps")


def test_no_url_is_the_in_process_stub_broker() -> None:
    doorbell = _doorbell()
    assert isinstance(doorbell.broker, StubBroker)
    assert doorbell.queue == "steps"


def test_another_scheme_is_a_start_up_error_naming_the_variable() -> None:
    with pytest.raises((SettingsError, ValueError), match=r"STEPLINE_BROKER_URL|broker_url"):
        Settings(broker_url="kafka://queue:9092")
