"""The in-process event bus: the agents' engines publish, API streams subscribe.

Every event says which agent it is about (None for what all share, like market prices); a
subscriber follows one agent or all. Publishing never waits. Each subscriber has a bounded
queue; when a slow subscriber's queue is full its oldest event is dropped (it skips ahead) and
the drop is counted, so one stalled client can never hold up the engines or the other clients.
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
    MARKET = "market"


@dataclass(frozen=True, slots=True)
class Event:
    topic: Topic
    payload: Any
    agent: str | None = None


@dataclass(slots=True)
class Subscription:
    topic: Topic
    queue: asyncio.Queue[Event]
    agent: str | None = None
    """The one agent followed; None follows every agent."""
    dropped: int = 0

    def wants(self, event: Event) -> bool:
        return self.agent is None or event.agent is None or event.agent == self.agent

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
    _latest: dict[tuple[Topic, str | None], Event] = field(default_factory=dict)
    published: int = 0
    dropped: int = 0

    def publish(self, topic: Topic, payload: Any, agent: str | None = None) -> None:
        event = Event(topic, payload, agent)
        self._latest[topic, agent] = event
        self.published += 1
        for subscription in self._subscribers[topic]:
            if not subscription.wants(event):
                continue
            if subscription.queue.full():
                subscription.queue.get_nowait()
                subscription.dropped += 1
                self.dropped += 1
            subscription.queue.put_nowait(event)

    def latest(self, topic: Topic, agent: str | None = None) -> list[Event]:
        """The last event of a topic for each agent (or for `agent` alone, plus what all
        agents share): what a new subscriber is shown first."""
        return [
            event
            for (event_topic, _), event in self._latest.items()
            if event_topic is topic and (agent is None or event.agent in (None, agent))
        ]

    def for_agent(self, agent: str) -> AgentEvents:
        return AgentEvents(self, agent)

    def subscriber_count(self, topic: Topic | None = None) -> int:
        topics = [topic] if topic is not None else list(self._subscribers)
        return sum(len(self._subscribers[t]) for t in topics)

    @contextmanager
    def subscribe(self, topic: Topic, agent: str | None = None) -> Iterator[Subscription]:
        subscription = Subscription(topic, asyncio.Queue(self.queue_size), agent)
        self._subscribers[topic].append(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[topic].remove(subscription)


@dataclass(frozen=True, slots=True)
class AgentEvents:
    """What one agent's engine publishes through: the bus, with the agent's name on each event."""

    bus: EventBus
    agent: str

    def publish(self, topic: Topic, payload: Any) -> None:
        self.bus.publish(topic, payload, self.agent)
