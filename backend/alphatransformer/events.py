"""The in-process event bus: the engine publishes, API streams subscribe.

Publishing never waits. Each subscriber has a bounded queue; when a slow subscriber's queue is
full its oldest event is dropped (it skips ahead) and the drop is counted, so one stalled client
can never hold up the engine or the other clients.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Topic(StrEnum):
    DECISIONS = "decisions"
    POSITIONS = "positions"
    ACCOUNT = "account"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Event:
    topic: Topic
    payload: Any


@dataclass(slots=True)
class Subscription:
    topic: Topic
    queue: asyncio.Queue[Event]
    dropped: int = 0

    async def next(self, within: float) -> Event | None:
        """The next event, or None when nothing came within `within` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), within)
        except TimeoutError:
            return None


@dataclass(slots=True)
class EventBus:
    queue_size: int = 256
    _subscribers: dict[Topic, list[Subscription]] = field(default_factory=lambda: defaultdict(list))
    _latest: dict[Topic, Event] = field(default_factory=dict)
    published: int = 0
    dropped: int = 0

    def publish(self, topic: Topic, payload: Any) -> None:
        event = Event(topic, payload)
        self._latest[topic] = event
        self.published += 1
        for subscription in self._subscribers[topic]:
            if subscription.queue.full():
                subscription.queue.get_nowait()
                subscription.dropped += 1
                self.dropped += 1
            subscription.queue.put_nowait(event)

    def latest(self, topic: Topic) -> Event | None:
        """The last event of a topic: what a new subscriber is shown first."""
        return self._latest.get(topic)

    def subscriber_count(self, topic: Topic | None = None) -> int:
        topics = [topic] if topic is not None else list(self._subscribers)
        return sum(len(self._subscribers[t]) for t in topics)

    @contextmanager
    def subscribe(self, topic: Topic) -> Iterator[Subscription]:
        subscription = Subscription(topic, asyncio.Queue(self.queue_size))
        self._subscribers[topic].append(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[topic].remove(subscription)
