"""Store the poll's metric samples, at most one set per METRICS_EVERY."""

from __future__ import annotations

from datetime import timedelta

from hosts.models import (
    MetricSample,
)
from hosts.polling.store.common import PollContext

METRICS_EVERY = timedelta(seconds=60)


def metrics_due(ctx: PollContext) -> bool:
    last = ctx.facts.metrics_sampled_at
    return last is None or ctx.now - last >= METRICS_EVERY


def store_metrics(ctx: PollContext) -> None:
    if not metrics_due(ctx):
        return
    MetricSample.objects.bulk_create(
        MetricSample(host=ctx.host, metric=name, subject=subject, at=ctx.now, value=value)
        for name, subject, value in ctx.metrics
    )
    ctx.facts.metrics_sampled_at = ctx.now
