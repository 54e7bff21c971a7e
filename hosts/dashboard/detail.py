"""Read side of the drill-down pages: cluster, host, mirror, pool, HAProxy backend, backup job
and customer. Each function takes an already-resolved object (views do the 404) and runs a
fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from hosts.choices import ClusterKind
from hosts.dashboard import charts
from hosts.dashboard.clusters import build_views, cluster_views, load_clusters
from hosts.dashboard.common import digest
from hosts.health.verdicts import (
    GOOD_BACKUP_EXIT,
    configured_thresholds,
    event_tone,
    exit_tone,
    freshness,
    host_verdict,
)
from hosts.models import (
    BackupJob,
    BackupRun,
    Cluster,
    ClusterMember,
    Finding,
    HaproxyBackend,
    Host,
    HostFacts,
    Jail,
    MetricSample,
    StatusEvent,
)

CHART_WINDOW = timedelta(hours=24)
CHART_POINTS = 240  # per series: enough for a 480 px wide chart
EVENT_LIMIT = 200


def _thin(points: list, limit: int = CHART_POINTS) -> list:
    step = max(len(points) // limit, 1)
    thinned = points[::step]
    if points and thinned[-1] is not points[-1]:
        thinned.append(points[-1])
    return thinned


def series(host_ids, metric: str, subject: str | None, label_of) -> list[charts.Series]:
    """One chart series per (host, subject) of `metric` over the chart window; one query."""
    since = timezone.now() - CHART_WINDOW
    qs = MetricSample.objects.filter(host__in=host_ids, metric=metric, at__gte=since)
    if subject is not None:
        qs = qs.filter(subject=subject)
    grouped = defaultdict(list)
    for host_id, subj, at, value in qs.order_by("at").values_list(
        "host_id", "subject", "at", "value"
    ):
        grouped[(host_id, subj)].append((at, value))
    return [charts.Series(label_of(h, s), _thin(pts)) for (h, s), pts in sorted(grouped.items())]


# --- cluster ---------------------------------------------------------------------------


def cluster_health(cluster: Cluster, known: dict | None = None) -> dict:
    """The live card of one cluster (the cluster page's partial). `known`, the card last
    built, is returned as it is when the rows behind it are unchanged (a change elsewhere in
    the fleet): the rows are read, the view is not built again."""
    now = timezone.now()
    data = load_clusters(Cluster.objects.filter(pk=cluster.pk), now, {cluster.kind})
    if known is not None and known["version"] == data.version:
        return known
    return {"v": build_views(data)[0], "generated_at": now, "version": data.version}


def cluster_detail(cluster: Cluster) -> dict:
    members = sorted(
        ClusterMember.objects.filter(cluster=cluster).select_related("host"),
        key=lambda m: (m.role != "primary", m.host.name),
    )
    host_ids = [m.host_id for m in members]
    names = {m.host_id: m.host.name for m in members}
    events = list(
        StatusEvent.objects.filter(host__in=host_ids)
        .select_related("host")
        .order_by("-at", "-pk")[:EVENT_LIMIT]
    )
    ctx = {"cluster": cluster, "members": members, "events": events}
    if events:
        start, end = events[-1].at, max(events[0].at, timezone.now())
        lanes = [
            (m.host.name, [_mark(e) for e in events if e.host_id == m.host_id]) for m in members
        ]
        ctx["timeline"] = charts.timeline(
            lanes, title=f"Failover timeline of {cluster.name}", start=start, end=end
        )
    ctx["states_chart"] = charts.line_chart(
        series(host_ids, "pf_states", None, lambda h, s: names[h]),
        title="pf state table size",
    )
    ctx["sessions_chart"] = charts.line_chart(
        series(host_ids, "backend_scur", None, lambda h, s: f"{names[h]} {s}")[:8],
        title="HAProxy backend sessions",
    )
    return ctx


def _mark(event: StatusEvent) -> charts.Mark:
    new = event.new
    tone = event_tone(new)
    what = event.subject if event.field == "state" else f"{event.subject} {event.field}"
    return charts.Mark(event.at, f"{what}: {event.old or '—'}→{new}", tone)


# --- host ------------------------------------------------------------------------------


def host_status(host: Host) -> dict:
    """The live header of the host page: reachability, last poll, open findings."""
    now = timezone.now()
    found = list(Finding.objects.filter(host=host).values_list("severity", "subject", "message"))
    state = freshness(
        host.reachability, host.last_success_at, host.poll_interval, now, configured_thresholds()
    )
    data = (state, host.reachability_reason, host.last_poll_at, host.last_poll_duration_ms, found)
    return {
        "host": host,
        "freshness": state,
        "verdict": host_verdict(host.reachability, state),
        "findings": found,
        "generated_at": now,
        "version": digest(data, host.offered_key_seen_at),
    }


def host_detail(host: Host) -> dict:
    facts = HostFacts.objects.filter(host=host).first()
    raw = []
    for key, value in sorted((facts.raw_outputs if facts else {}).items()):
        # The poller stores {key: {"command", "exit", "output"}}; older rows held plain text.
        if isinstance(value, dict):
            raw.append((key, value.get("command", key), value.get("exit"), value.get("output", "")))
        else:
            raw.append((key, key, None, str(value)))
    last_run = BackupRun.objects.filter(job=OuterRef("pk")).order_by("-started_at")
    return {
        "host": host,
        "facts": facts,
        "raw_outputs": raw,
        "memberships": list(host.memberships.select_related("cluster")),
        "vhids": list(host.carp_vhids.present()),
        "mirrors": list(host.mirrors.present().prefetch_related("components")),
        "pools": list(host.zpools.present()),
        "jails": list(host.jails.present()),
        "backends": list(host.haproxy_backends.present()),
        "backup_jobs": list(
            BackupJob.objects.filter(Q(source=host) | Q(target=host))
            .select_related("source", "target")
            .annotate(
                last_started=Max("runs__started_at"),
                last_exit=Subquery(last_run.values("exit_code")[:1]),
            )
        ),
        "events": list(host.events.order_by("-at", "-pk")[:50]),
        "polls": list(host.poll_runs.order_by("-started_at")[:10]),
        "states_chart": charts.line_chart(
            series([host.pk], "pf_states", None, lambda h, s: host.name),
            title="pf state table size",
        ),
    }


# --- storage, backends, backups ---------------------------------------------------------


def pool_detail(pool) -> dict:
    devices = list(pool.devices.order_by("position"))
    return {
        "pool": pool,
        "devices": devices,
        "errors": sum(1 for d in devices if d.has_errors),
        "cap_chart": charts.line_chart(
            series([pool.host_id], "pool_cap_pct", pool.name, lambda h, s: s),
            title=f"Capacity of {pool.name}",
            unit="%",
        ),
    }


def mirror_detail(mirror) -> dict:
    return {"mirror": mirror, "components": list(mirror.components.order_by("name"))}


def backend_detail(backend) -> dict:
    # The same backend on the other member(s) of the host's LB pair, side by side.
    peers = list(
        HaproxyBackend.objects.present()
        .filter(
            name=backend.name,
            host__memberships__cluster__members__host=backend.host,
        )
        .exclude(pk=backend.pk)
        .select_related("host")
        .distinct()
    )
    return {
        "backend": backend,
        "servers": list(backend.servers.present().order_by("name")),
        "peers": peers,
        "sessions_chart": charts.line_chart(
            series(
                [backend.host_id, *(p.host_id for p in peers)],
                "backend_scur",
                backend.name,
                lambda h, s: (
                    backend.host.name
                    if h == backend.host_id
                    else next(p.host.name for p in peers if p.host_id == h)
                ),
            ),
            title=f"Sessions on {backend.name}",
        ),
    }


def backup_job_detail(job: BackupJob) -> dict:
    runs = list(job.runs.order_by("-started_at")[:60])
    rows = [(run, *exit_tone(run.exit_code)) for run in runs]
    oldest_first = list(reversed(runs))
    return {
        "job": job,
        "runs": rows,
        "last_good": next(
            (
                r
                for r in runs
                if r.exit_code in GOOD_BACKUP_EXIT and r.snapshot_verified is not False
            ),
            None,
        ),
        "duration_chart": charts.bar_chart(
            [
                (f"{r.started_at:%m-%d %H:%M}", r.duration_s or 0, exit_tone(r.exit_code)[0])
                for r in oldest_first
            ],
            title="Duration per run",
            unit="s",
        ),
        "bytes_chart": charts.bar_chart(
            [
                (
                    f"{r.started_at:%m-%d %H:%M}",
                    (r.bytes_transferred or 0) / 1_048_576,
                    exit_tone(r.exit_code)[0],
                )
                for r in oldest_first
            ],
            title="Data transferred per run",
            unit=" MiB",
        ),
    }


# --- customer -------------------------------------------------------------------------------


def customer_detail(customer) -> dict:
    now = timezone.now()
    hosts = list(Host.objects.filter(customer=customer).select_related("site").order_by("name"))
    t = configured_thresholds()
    for host in hosts:
        host.freshness = freshness(
            host.reachability, host.last_success_at, host.poll_interval, now, t
        )
        host.verdict = host_verdict(host.reachability, host.freshness)
    host_q = Host.objects.filter(customer=customer).values("pk")
    last_run = BackupRun.objects.filter(job=OuterRef("pk")).order_by("-started_at")
    return {
        "customer": customer,
        "hosts": hosts,
        "clusters": cluster_views(
            Cluster.objects.filter(customer=customer), now, ClusterKind.values
        ),
        "jails": list(
            Jail.objects.present().filter(host__in=host_q).select_related("host").order_by("name")
        ),
        "findings": list(
            Finding.objects.filter(Q(host__in=host_q) | Q(cluster__customer=customer))
            .select_related("host", "cluster")
            .order_by("-first_seen_at")
        ),
        "backup_jobs": list(
            BackupJob.objects.filter(source__in=host_q)
            .select_related("source")
            .annotate(
                last_good=Max(
                    "runs__finished_at",
                    filter=Q(runs__exit_code__in=GOOD_BACKUP_EXIT)
                    & ~Q(runs__snapshot_verified=False),
                ),
                last_exit=Subquery(last_run.values("exit_code")[:1]),
            )
        ),
    }
