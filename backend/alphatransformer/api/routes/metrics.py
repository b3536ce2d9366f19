"""Prometheus metrics, gathered at scrape time from the engine, the bus and the database."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alphatransformer.api.dependencies import RuntimeDep
from alphatransformer.database.repositories import UsageTotals
from alphatransformer.events import Topic
from alphatransformer.runtime import Runtime

router = APIRouter(tags=["status"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Cycles, decisions by action and status, orders by status, model usage, stream clients."""
    registry = CollectorRegistry(auto_describe=True)
    orders = await runtime.executions.count_by_status()
    usage = await runtime.decisions.usage_totals()
    registry.register(_Snapshot(runtime, orders, usage))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Snapshot(Collector):
    def __init__(self, runtime: Runtime, orders: dict[str, int], usage: UsageTotals) -> None:
        self._runtime = runtime
        self._orders = orders
        self._usage = usage

    def collect(self) -> Iterator[Metric]:
        status = self._runtime.engine.status
        yield CounterMetricFamily("alphatransformer_cycles", "Decision cycles run.", status.cycles)
        yield CounterMetricFamily(
            "alphatransformer_cycles_failed", "Cycles that raised.", status.failed_cycles
        )
        yield CounterMetricFamily(
            "alphatransformer_cycles_missed",
            "Scheduled cycles skipped because the one before overran.",
            status.missed_cycles,
        )
        decisions = CounterMetricFamily(
            "alphatransformer_decisions",
            "Decisions since start, by action and final status.",
            labels=["action", "status"],
        )
        for key, count in sorted(status.outcomes.items()):
            action, outcome = key.split(":", 1)
            decisions.add_metric([action, outcome], count)
        yield decisions
        orders = GaugeMetricFamily(
            "alphatransformer_orders", "Orders in the database, by status.", labels=["status"]
        )
        for order_status, count in sorted(self._orders.items()):
            orders.add_metric([order_status], count)
        yield orders
        yield from self._usage_metrics()
        bus = self._runtime.bus
        clients = GaugeMetricFamily(
            "alphatransformer_websocket_clients", "Connected stream clients.", labels=["stream"]
        )
        for topic in (Topic.DECISIONS, Topic.POSITIONS, Topic.ACCOUNT):
            clients.add_metric([topic.value], bus.subscriber_count(topic))
        yield clients
        yield CounterMetricFamily(
            "alphatransformer_stream_events_dropped",
            "Updates skipped by slow clients.",
            bus.dropped,
        )

    def _usage_metrics(self) -> Iterator[Metric]:
        usage = self._usage
        tokens = CounterMetricFamily(
            "alphatransformer_model_tokens", "Model tokens used.", labels=["direction"]
        )
        tokens.add_metric(["input"], usage.input_tokens)
        tokens.add_metric(["output"], usage.output_tokens)
        yield tokens
        yield CounterMetricFamily(
            "alphatransformer_model_cost_usd", "Model cost in USD.", float(usage.cost_usd)
        )
        yield GaugeMetricFamily(
            "alphatransformer_model_latency_ms_avg", "Mean model latency.", usage.mean_latency_ms
        )
