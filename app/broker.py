"""The one place that chooses Dramatiq's broker, its middleware, and the step actor on it.

Every composition root (app.container) builds a broker of its own from its settings: the URL
of STEPLINE_BROKER_URL, else REDIS_URL, picks Redis (`redis://`, `rediss://`, `unix://`) or
RabbitMQ (`amqp://`, `amqps://`); with neither, the in-process StubBroker (the embedded
default). STEPLINE_QUEUE_PREFIX namespaces the queues: Redis's keys, RabbitMQ's queue names
(`<prefix>.steps` with Dramatiq's `.DQ` delay and `.XQ` dead-letter queues). The step actor,
`stepline.run_step`, is declared on that broker and bound to that root's runner, so a message
on one app's broker runs that app's runner; `Doorbell` sends those messages and measures the
queue. Nothing here touches Dramatiq's global broker: only the worker entry point (app.tasks)
sets it, because `dramatiq app.tasks` looks there.

Two Redis-broker knobs come from the environment of worker processes: Dramatiq moves the
unacknowledged messages of a worker that stopped heartbeating back to the queue only after
STEPLINE_BROKER_HEARTBEAT_TIMEOUT milliseconds (Dramatiq's default: 60000), and only during a
maintenance pass that runs on STEPLINE_BROKER_MAINTENANCE_CHANCE commands out of a million
(default: 1000). The engine does not depend on either (recovery re-sends after the lease); the
fault tests shorten both to make Dramatiq redeliver at once, as Dramatiq's own tests do.

On Redis the broker is app.broker_wake's: an enqueued step message wakes an idle worker at once
(a token on a wake list it blocks on), where Dramatiq's consumer would poll.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, cast

import dramatiq
import pika.exceptions
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import ShutdownNotifications, TimeLimit

from app.broker_wake import WakingRedisBroker
from app.engine import time_limits
from app.logs import LogsMiddleware
from app.settings import Settings

log = logging.getLogger(__name__)

QUEUE = "steps"
RUN_STEP = "stepline.run_step"  # stored in queued messages: never rename
# Runs one doorbell message: (execution_id, position, attempt).
RunStep = Callable[[int, int, int, str], None]


# Dead letters (a message for an unknown actor, say) hold a message's ids and options only,
# and only until the next maintenance pass after this many milliseconds (Dramatiq: 7 days).
DEAD_MESSAGE_TTL_MS = 60_000


class FailedMessages(dramatiq.Middleware):
    """In place of Dramatiq's Retries: the engine owns retries, so a message whose actor raised
    (the database was down, say) is logged by its ids and dropped, and recovery re-sends it
    after the lease. Retries would copy the traceback, exception text included (which may
    carry data or secrets), into the message's options, and move the message to the
    dead-letter set kept in Redis for a week; without it the message is acknowledged."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return
        log.warning(
            "message %s (%s %s) failed with %s; dropped, recovery re-sends it after the lease",
            message.message_id,
            message.actor_name,
            list(message.args),
            type(exception).__name__,
        )


class StepTimeLimit(TimeLimit):
    """Dramatiq's TimeLimit, step by step: a message starts with the step actor's limit (the
    engine's default step limit plus its grace: `message_time_limit_ms`), and each step that
    starts sets what its thread may still run to that step's own limit plus grace (`allow`,
    which the executor calls: app.engine.time_limits). So a step allowed two hours is not cut
    at a fixed 15 minutes, and a stuck step allowed 30 s does not hold its thread for them.
    Past it, Dramatiq interrupts the thread (at its next bytecode: a blocking call returns
    first); the step stays `running` and recovery ends the attempt as timed out."""

    def __init__(self, *, time_limit: float) -> None:
        super().__init__(time_limit=time_limit)
        self._processing: set[int] = set()
        self._lock = threading.Lock()

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        super().before_process_message(broker, message)
        with self._lock:
            self._processing.add(threading.get_ident())

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._processing.discard(threading.get_ident())
        super().after_process_message(broker, message, result=result, exception=exception)

    after_skip_message = after_process_message

    def allow(self, seconds: float) -> None:
        """The message this thread is processing may run `seconds` more, from now. A thread
        processing no message (a test calling the runner itself) is left alone."""
        thread = threading.get_ident()
        with self._lock:
            if thread not in self._processing:
                return
        self.manager.remove_timeout(thread)  # gevent's manager keeps a timer per call
        self.manager.add_timeout(thread, seconds * 1000)


def message_time_limit_ms(settings: Settings) -> int:
    """A step message's time limit until its first step starts: the engine's default step
    limit plus its grace (each step then sets its own: StepTimeLimit.allow)."""
    limit = settings.step_time_limit
    return int((limit + time_limits.grace(limit)) * 1000)


def _middleware(settings: Settings) -> list[dramatiq.Middleware]:
    # Not Dramatiq's AgeLimit, Callbacks nor Pipelines: no message sets max_age, on_success,
    # on_failure or a pipe target, and each hook of theirs ran on every message.
    return [
        StepTimeLimit(time_limit=message_time_limit_ms(settings)),
        ShutdownNotifications(),
        FailedMessages(),
        LogsMiddleware(settings),
    ]


def redis_options(env: Mapping[str, str]) -> dict[str, Any]:
    """RedisBroker keyword arguments from STEPLINE_BROKER_* variables (see the docstring)."""
    options: dict[str, Any] = {}
    for name, option in (
        ("STEPLINE_BROKER_HEARTBEAT_TIMEOUT", "heartbeat_timeout"),
        ("STEPLINE_BROKER_MAINTENANCE_CHANCE", "maintenance_chance"),
    ):
        if env.get(name):
            try:
                options[option] = int(env[name])
            except ValueError:
                raise RuntimeError(f"{name} must be an integer, got {env[name]!r}") from None
    return options


def is_rabbitmq(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("amqp://", "amqps://"))


def build(settings: Settings) -> dramatiq.Broker:
    """The broker STEPLINE_BROKER_URL (else REDIS_URL) names, in the QUEUE_PREFIX namespace;
    a StubBroker when neither is set."""
    url = settings.broker_location
    if is_rabbitmq(url):
        # No publisher confirms: a message RabbitMQ loses is re-sent by recovery after the
        # lease, as one Redis loses; confirms would cost a round trip per doorbell.
        return RabbitmqBroker(url=url, middleware=_middleware(settings))
    if url:
        return WakingRedisBroker(
            url=url,
            namespace=settings.queue_prefix,
            middleware=_middleware(settings),
            dead_message_ttl=DEAD_MESSAGE_TTL_MS,
            **redis_options(os.environ),
        )
    return StubBroker(middleware=_middleware(settings))


def queue_name(broker: dramatiq.Broker, prefix: str) -> str:
    """The step queue's name on `broker`: RabbitMQ has no key namespace, so the prefix goes
    into the name; Redis prefixes its keys itself."""
    return f"{prefix}.{QUEUE}" if isinstance(broker, RabbitmqBroker) else QUEUE


def declare_run_step(
    broker: dramatiq.Broker, run: RunStep, queue: str = QUEUE, time_limit_ms: int = 960_000
) -> dramatiq.Actor[..., None]:
    """Declare `stepline.run_step` on `broker`, on `queue`: its messages are handed to `run`
    and may run `time_limit_ms` until their first step sets its own (StepTimeLimit)."""

    def run_step(execution_id: int, position: int, attempt: int, frame: str = "") -> None:
        """Run the execution from `position` (in `frame`: the loop iterations around it),
        attempt `attempt` (a doorbell; duplicates are no-ops)."""
        run(execution_id, position, attempt, frame)

    declare = dramatiq.actor(
        broker=broker,
        actor_name=RUN_STEP,
        queue_name=queue,
        time_limit=time_limit_ms,
    )
    return declare(run_step)


class Doorbell:
    """Rings for steps on one broker (a message per step to run) and tells the queue's depth.

    `answer(run)` declares the step actor on the broker, bound to `run` (the runner's `run`);
    until then nothing can be sent (the runner needs the doorbell to exist first)."""

    def __init__(
        self, broker: dramatiq.Broker, prefix: str = "stepline", time_limit_ms: int = 960_000
    ) -> None:
        self.broker = broker
        self.queue = queue_name(broker, prefix)
        self.time_limit_ms = time_limit_ms  # a message's, until its first step starts
        self._actor: dramatiq.Actor[..., None] | None = None
        limits = [m for m in broker.middleware if isinstance(m, StepTimeLimit)]
        self._time_limit = limits[0] if limits else None

    def answer(self, run: RunStep) -> None:
        if self._actor is not None:
            raise RuntimeError(f"{RUN_STEP} is already declared on this broker")
        self._actor = declare_run_step(self.broker, run, self.queue, self.time_limit_ms)

    def allow(self, seconds: float) -> None:
        """The step message this thread is processing may run `seconds` more (each step as it
        starts: its limit plus grace). Dramatiq interrupts the thread past it."""
        if self._time_limit is not None:
            self._time_limit.allow(seconds)

    def send(
        self, execution_id: int, position: int, attempt: int, delay: float = 0.0, frame: str = ""
    ) -> None:
        """Ring the doorbell for a step (in `frame`, inside loops), after `delay` seconds."""
        actor = self._actor
        if actor is None:
            raise RuntimeError("the doorbell has no step actor yet (Doorbell.answer)")
        options: dict[str, Any] = {"delay": int(delay * 1000)} if delay > 0 else {}
        args = (
            (execution_id, position, attempt, frame) if frame else (execution_id, position, attempt)
        )
        actor.send_with_options(args=args, **options)

    def queue_depth(self) -> int | None:
        """Messages waiting (ready and delayed) in the step queue. On RabbitMQ: the ready
        messages of the queue and of its delay queue (a worker holds the delayed messages it
        has fetched, unacknowledged, until they are due: those are not counted); a broker
        that cannot be asked raises ConnectionError."""
        broker = self.broker
        if isinstance(broker, RedisBroker):
            return int(cast(int, broker.client.hlen(f"{broker.namespace}:{self.queue}.msgs")))
        if isinstance(broker, RabbitmqBroker):
            return _rabbitmq_depth(broker, self.queue)
        queue = getattr(broker, "queues", {}).get(self.queue)
        return queue.qsize() if queue is not None else 0


def _rabbitmq_depth(broker: RabbitmqBroker, queue: str) -> int:
    try:
        ready, delayed, _dead = broker.get_queue_message_counts(queue)
    except pika.exceptions.AMQPError as exc:
        del broker.connection  # this thread's next call connects afresh
        raise ConnectionError(f"RabbitMQ: {type(exc).__name__}") from None
    return int(ready) + int(delayed)
