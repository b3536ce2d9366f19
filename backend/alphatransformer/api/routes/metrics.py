"""Prometheus metrics, gathered at scrape time from the engine, the bus and the database."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alphatransformer.api.dependencies import ArenaDep
from alphatransformer.arena import LiveArena
from alphatransformer.database.repositories import UsageTotals
from alphatransformer.events import Topic

router = APIRouter(tags=["status"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(arena: ArenaDep) -> Response:
    """Per agent: cycles, decisions by action and status, orders by status, model usage; and
    stream clients."""
    registry = CollectorRegistry(auto_describe=True)
    orders = {name: await r.executions.count_by_status() for name, r in arena.agents.items()}
    usage = {name: await r.decisions.usage_totals() for name, r in arena.agents.items()}
    registry.register(_Snapshot(arena, orders, usage))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Snapshot(Collector):
    def __init__(
        self,
        arena: LiveArena,
        orders: dict[str, dict[str, int]],
        usage: dict[str, UsageTotals],
    ) -> None:
        self._arena = arena
        self._orders = orders
        self._usage = usage

    def collect(self) -> Iterator[Metric]:
        cycles = CounterMetricFamily(
            "alphatransformer_cycles", "Decision cycles run.", labels=["agent"]
        )
        failed = CounterMetricFamily(
            "alphatransformer_cycles_failed", "Cycles that raised.", labels=["agent"]
        )
        missed = CounterMetricFamily(
            "alphatransformer_cycles_missed",
            "Scheduled cycles skipped because the one before overran.",
            labels=["agent"],
        )
        decisions = CounterMetricFamily(
            "alphatransformer_decisions",
            "Decisions since start, by action and final status.",
            labels=["agent", "action", "status"],
        )
        orders = GaugeMetricFamily(
            "alphatransformer_orders",
            "Orders in the database, by status.",
            labels=["agent", "status"],
        )
        for name, runtime in self._arena.agents.items():
            status = runtime.engine.status
            cycles.add_metric([name], status.cycles)
            failed.add_metric([name], status.failed_cycles)
            missed.add_metric([name], status.missed_cycles)
            for key, count in sorted(status.outcomes.items()):
                action, outcome = key.split(":", 1)
                decisions.add_metric([name, action, outcome], count)
            for order_status, count in sorted(self._orders[name].items()):
                orders.add_metric([name, order_status], count)
        yield from (cycles, failed, missed, decisions, orders)
        yield from self._usage_metrics()
        bus = self._arena.bus
        clients = GaugeMetricFamily(
            "alphatransformer_websocket_clients", "Connected stream clients.", labels=["stream"]
        )
        for topic in Topic:
            clients.add_metric([topic.value], bus.subscriber_count(topic))
        yield clients
        yield CounterMetricFamily(
            "alphatransformer_stream_events_dropped",
            "Updates skipped by slow clients.",
            bus.dropped,
        )

    def _usage_metrics(self) -> Iterator[Metric]:
        tokens = CounterMetricFamily(
            "alphatransformer_model_tokens", "Model tokens used.", labels=["agent", "direction"]
        )
        cost = CounterMetricFamily(
            "alphatransformer_model_cost_usd", "Model cost in USD.", labels=["agent"]
        )
        errors = CounterMetricFamily(
            "alphatransformer_model_errors", "Cycles whose model call failed.", labels=["agent"]
        )
        latency = GaugeMetricFamily(
            "alphatransformer_model_latency_ms_avg", "Mean model latency.", labels=["agent"]
        )
        for name, usage in self._usage.items():
            tokens.add_metric([name, "input"], usage.input_tokens)
            tokens.add_metric([name, "output"], usage.output_tokens)
            cost.add_metric([name], float(usage.cost_usd))
            errors.add_metric([name], usage.errors)
            latency.add_metric([name], usage.mean_latency_ms)
        yield from (tokens, cost, errors, latency)
