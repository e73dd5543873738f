"""A Redis broker whose idle workers wake when a step message is enqueued, not at their next poll.

Dramatiq's Redis consumer polls: a fetch that finds nothing sleeps, backing off up to the
worker timeout (`dramatiq_worker_timeout`), so a doorbell rung while a worker idles waited up
to that long. `WakingRedisBroker` pushes a wake token on `<namespace>:<queue>.wake` (a list
trimmed to `WAKE_TOKENS` entries) in the same round trip as each immediate enqueue (and each
requeue: a stopping worker's prefetched messages), behind the message. Each fetch of its
consumer empties that list first, in the same round trip, so a token there names a message
enqueued since the last fetch began. A consumer whose last fetch found the queue empty (fewer
messages than it asked for) and that has room to prefetch blocks on the list (BLPOP, the
worker timeout as its timeout) instead of sleeping, and fetches when a token comes or the
timeout ends (the poll), BLPOP and fetch in one round trip. A stale token (its message fetched
in between) costs one empty fetch. Polling stays the fallback for what comes without a token:
messages Dramatiq's maintenance moves back from a dead worker, and the delay queue (its
consumer keeps polling; delayed messages that are due are enqueued again through `enqueue`, so
they wake the queue's consumer). A consumer with no room to prefetch (its messages waiting for
worker threads) waits until half of them have ended (none then waits for a thread, and the
next fetch takes several), not for Dramatiq's backoff sleep (5 ms doubling up to the worker
timeout, which a token could not cut short), then fetches or waits on the list as above.

A worker thread's ack of an ended message is held by the consumer and sent with its next
fetch, in the same round trip (a consumer that stops sends those it holds).

The calls stay Dramatiq's: the `dispatch` script runs on a pipeline of ours for the one call
(`_OnPipeline`), with its own arguments, and no Lua of ours.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import q_name
from dramatiq.errors import ConnectionClosed

WAKE_TOKENS = 64  # a wake list never holds more tokens than this


def wake_key(namespace: str, queue_name: str) -> str:
    return f"{namespace}:{queue_name}.wake"


class _OnPipeline:
    """Dramatiq's `dispatch` script, queued on this thread's pipeline while one is open (and run
    as Dramatiq runs it otherwise)."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.local = threading.local()

    def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        pipe = getattr(self.local, "pipe", None)
        if pipe is None:
            return self.script(keys=keys, args=args)
        # evalsha on the pipeline itself: a Script on a pipeline asks SCRIPT EXISTS first (one
        # more round trip); a script Redis lost (a restart) raises NoScriptError at execute
        pipe.evalsha(self.script.sha, len(keys), *keys, *args)
        return None


class WakingRedisBroker(RedisBroker):
    """Dramatiq's RedisBroker, whose immediate enqueues wake an idle consumer of the queue."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._dispatch_script = _OnPipeline(self.scripts["dispatch"])
        self.scripts["dispatch"] = self._dispatch_script

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _WakingConsumer

    def do_enqueue(self, queue_name: str, *args: Any) -> Any:
        return self._with_tokens("enqueue", queue_name, args, 1)

    def do_requeue(self, queue_name: str, *message_ids: Any) -> Any:
        return self._with_tokens("requeue", queue_name, message_ids, len(message_ids))

    def fetch_and_clear(
        self, queue_name: str, count: int, wait: float = 0.0, acks: Sequence[str] = ()
    ) -> list[bytes]:
        """The queue's wake tokens deleted, then Dramatiq's fetch of up to `count` messages, in
        one round trip: a token pushed after the delete is kept, and its message (enqueued
        before its token) was either fetched here (a stale token) or is still queued. With
        `wait` (seconds), a BLPOP on the wake list first, in the same round trip (Redis runs a
        connection's next commands once its blocking one returns): the fetch comes when a token
        does, or when the wait ends (the poll). `acks`: Dramatiq's acks of these message ids
        (their `redis_message_id`), first, in the same round trip."""
        key = wake_key(self.namespace, queue_name)
        pipe = self.client.pipeline(transaction=False)
        for message_id in acks:
            self._queue_dispatch(pipe, "ack", queue_name, message_id)
        if wait:
            pipe.blpop([key], timeout=wait)
        pipe.delete(key)
        self._queue_dispatch(pipe, "fetch", queue_name, count)
        try:
            messages = pipe.execute()[-1]
        except redis.exceptions.NoScriptError:  # Redis restarted: Dramatiq's call loads it
            for message_id in acks:
                self._dispatch("ack")(queue_name, message_id)
            messages = self._dispatch("fetch")(queue_name, count)
        return list(messages or [])

    def _with_tokens(self, command: str, queue_name: str, args: Any, tokens: int) -> Any:
        if q_name(queue_name) != queue_name or tokens < 1:  # the delay queue polls
            return self._dispatch(command)(queue_name, *args)
        key = wake_key(self.namespace, queue_name)
        pipe = self.client.pipeline(transaction=False)
        self._queue_dispatch(pipe, command, queue_name, *args)
        pipe.rpush(key, *["1"] * min(tokens, WAKE_TOKENS))
        pipe.ltrim(key, -WAKE_TOKENS, -1)
        try:
            return pipe.execute()[0]
        except redis.exceptions.NoScriptError:  # tokens may be pushed: a stale one is harmless
            result = self._dispatch(command)(queue_name, *args)
            self.client.rpush(key, "1")
            return result

    def _queue_dispatch(self, pipe: Any, command: str, queue_name: str, *args: Any) -> None:
        local = self._dispatch_script.local
        local.pipe = pipe
        try:
            self._dispatch(command)(queue_name, *args)
        finally:
            local.pipe = None


class _WakingConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, which waits on the queue's wake list when idle, and for a
    message of its own to end (an ack or nack) while it has no room to prefetch, where Dramatiq
    sleeps. The delay queue's consumer is Dramatiq's."""

    broker: WakingRedisBroker

    def __init__(self, broker: WakingRedisBroker, queue_name: str, prefetch: int, timeout: int):
        super().__init__(broker, queue_name, prefetch, timeout)
        delay_queue = q_name(queue_name) != queue_name
        self.wake = None if delay_queue else wake_key(broker.namespace, queue_name)
        # The last fetch got fewer messages than it asked for: the queue was empty then, so
        # the wake list (emptied by that fetch) holds a token for anything enqueued since
        self.drained = False
        self.room = threading.Event()  # set by worker threads: their messages ended
        self.acks: list[str] = []  # ended messages' ids, acked with the next fetch
        self.acks_lock = threading.Lock()
        self.closed = False
        self.wait_s = max(timeout, 1) / 1000

    def ack(self, message: Any) -> None:
        # A worker thread's ack is sent with the consumer's next fetch, in its round trip (the
        # fetch that follows an ended message comes at once: room was made), not in one of its
        # own. Acks lost with the process leave their messages to Dramatiq's redelivery, like a
        # message that was running: a duplicate doorbell does nothing.
        with self.acks_lock:
            if self.wake is not None and not self.closed:
                self.acks.append(message.options["redis_message_id"])
                self.queued_message_ids.discard(message.message_id)
                message = None
        try:
            if message is not None:  # the delay queue's, or after close: Dramatiq's own ack
                super().ack(message)
        finally:
            self._ended()

    def _take_acks(self) -> list[str]:
        with self.acks_lock:
            acks, self.acks = self.acks, []
        return acks

    def close(self) -> None:
        with self.acks_lock:
            self.closed = True
        try:
            for message_id in self._take_acks():
                self.broker.do_ack(self.queue_name, message_id)
        finally:
            super().close()

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)
        finally:
            self._ended()

    def _ended(self) -> None:
        # Half the prefetch (the worker's thread count, by Dramatiq's default): no message of
        # this worker's waits for a thread any more, and the next fetch takes up to half
        if self.outstanding_message_count <= self.prefetch // 2:
            self.room.set()

    def __next__(self) -> Any:
        if self.wake is None or self.message_cache:
            return super().__next__()
        if self.outstanding_message_count >= self.prefetch:
            self.room.clear()
            if self.outstanding_message_count > self.prefetch // 2:  # none ended since
                self.room.wait(self.wait_s)
            return None
        room = self.prefetch - self.outstanding_message_count
        # Redis checks blocking timeouts on its clock tick (hz 10: 100 ms steps)
        wait = self.wait_s if self.drained else 0.0
        acks = self._take_acks()
        try:
            messages = self.broker.fetch_and_clear(self.queue_name, room, wait, acks)
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None
        self.drained = len(messages) < room
        if not messages:
            return None
        self.message_cache = messages
        return super().__next__()
