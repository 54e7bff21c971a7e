"""Store the poll's metric samples, at most one set per METRICS_EVERY."""

from __future__ import annotations

from datetime import timedelta

from hosts.models import (
    MetricSample,
)
from hosts.polling.store.common import PollContext

METRICS_EVERY = timedelta(seconds=60)


def store_metrics(ctx: PollContext) -> None:
    last = ctx.facts.metrics_sampled_at
    if last is not None and ctx.now - last < METRICS_EVERY:
        return
    MetricSample.objects.bulk_create(
        MetricSample(host=ctx.host, metric=name, subject=subject, at=ctx.now, value=value)
        for name, subject, value in ctx.metrics
    )
    ctx.facts.metrics_sampled_at = ctx.now
