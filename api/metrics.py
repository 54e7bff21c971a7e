"""The Prometheus collector of current state, read from the database at scrape time.

A fixed number of queries whatever the fleet size (tested), no writes, no SSH. Values are
what the store holds now: a vhid's state is as of its host's last good poll. Broker queue
depth is read from the broker with its own short timeouts; when the broker cannot be read
the scrape still succeeds and says so (`nyiops_celery_broker_up 0`).

Exposition (with the pipeline instruments of nyiops.metrics) is `api.views.pages.metrics`."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from django.db.models import Count, Max, Q
from django.utils import timezone
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily

from alerts.choices import NotificationStatus
from alerts.models import Alert, Notification
from hosts.choices import Reachability
from hosts.health.verdicts import configured_thresholds, freshness
from hosts.models import (
    BackupRun,
    ClusterMember,
    Finding,
    HaproxyBackend,
    Host,
    HostFacts,
    Mirror,
    MirrorComponent,
    ZPool,
)
from nyiops.celery import QUEUES
from nyiops.celery import app as celery_app

log = logging.getLogger(__name__)


def _gauge(name, doc, labels=()):
    return GaugeMetricFamily(name, doc, labels=list(labels))


class StateCollector:
    """Current fleet state as gauges (prometheus-client custom collector)."""

    def __init__(self, *, broker: bool = True):
        self.broker = broker

    def describe(self):
        return []  # unchecked collector: families are built per scrape

    def collect(self):
        now = timezone.now()
        yield from self._hosts()
        yield from self._carp(now)
        yield from self._pfsync()
        yield from self._pools()
        yield from self._mirrors()
        yield from self._backends()
        yield from self._backups(now)
        yield from self._alerts()
        if self.broker:
            yield from self._queues()

    def _hosts(self):
        g = _gauge(
            "nyiops_hosts", "Enabled hosts by reachability of their last poll.", ["reachability"]
        )
        counts = dict(
            Host.objects.filter(enabled=True)
            .values_list("reachability")
            .annotate(n=Count("pk"))
            .values_list("reachability", "n")
        )
        for value in Reachability.values:
            g.add_metric([value], counts.get(value, 0))
        yield g
        # Per-host views of the poll pipeline from the database, so they hold whichever
        # process polled (the histograms of nyiops.metrics live in the worker's process).
        duration = _gauge(
            "nyiops_host_last_poll_duration_seconds", "Duration of the host's last poll.", ["host"]
        )
        age = _gauge(
            "nyiops_host_last_poll_age_seconds",
            "Time since the host's last poll ended (compare with its interval).",
            ["host"],
        )
        interval = _gauge(
            "nyiops_host_poll_interval_seconds", "The host's poll interval.", ["host"]
        )
        now = timezone.now()
        for name, ms, last, every in Host.objects.filter(enabled=True).values_list(
            "name", "last_poll_duration_ms", "last_poll_at", "poll_interval"
        ):
            interval.add_metric([name], every)
            if ms is not None:
                duration.add_metric([name], ms / 1000)
            if last is not None:
                age.add_metric([name], (now - last).total_seconds())
        yield from (duration, age, interval)

    def _carp(self, now):
        # Through the vhid rows (an inner join): a member with no vhids adds no row at all.
        rows = ClusterMember.objects.filter(
            host__carp_vhids__isnull=False, host__carp_vhids__gone_at__isnull=True
        ).values_list(
            "cluster__name",
            "host__name",
            "host__carp_vhids__interface",
            "host__carp_vhids__vhid",
            "host__carp_vhids__state",
            "host__reachability",
            "host__last_success_at",
            "host__poll_interval",
        )
        by_state = _gauge(
            "nyiops_carp_vhids",
            "CARP vhids of each cluster's members by state; UNKNOWN when the member's data "
            "is not fresh (unreachable or stale), as the dashboard judges it.",
            ["cluster", "state"],
        )
        master = _gauge(
            "nyiops_carp_vhid_master",
            "1 when this host is MASTER for this vhid, 0 when it holds another state "
            "(members without fresh data are left out).",
            ["cluster", "host", "interface", "vhid"],
        )
        single = _gauge(
            "nyiops_carp_vhids_without_single_master",
            "Vhids of a cluster with no fresh MASTER or more than one (split brain).",
            ["cluster"],
        )
        states: Counter = Counter()
        masters: dict = defaultdict(int)
        clusters = set()
        t = configured_thresholds()
        for cluster, host, interface, vhid, state, reach, last_ok, interval in sorted(rows):
            clusters.add(cluster)
            if freshness(reach, last_ok, interval, now, t) != "ok":  # the judge's staleness
                states[(cluster, "UNKNOWN")] += 1
                masters[(cluster, interface, vhid)] += 0
                continue
            states[(cluster, state)] += 1
            is_master = state == "MASTER"
            masters[(cluster, interface, vhid)] += is_master
            master.add_metric([cluster, host, interface, str(vhid)], 1 if is_master else 0)
        for (cluster, state), n in sorted(states.items()):
            by_state.add_metric([cluster, state], n)
        bad = Counter(c for (c, _i, _v), n in masters.items() if n != 1)
        for cluster in sorted(clusters):
            single.add_metric([cluster], bad.get(cluster, 0))
        yield from (by_state, master, single)

    def _pfsync(self):
        g = _gauge(
            "nyiops_pfsync_in_sync",
            "1 when pfsync reports its bulk update done (syncok), 0 when not or absent.",
            ["host"],
        )
        for name, present, syncok in HostFacts.objects.filter(
            pfsync_present__isnull=False
        ).values_list("host__name", "pfsync_present", "pfsync_syncok"):
            g.add_metric([name], 1 if present and syncok else 0)
        yield g

    def _pools(self):
        health = _gauge(
            "nyiops_zpool_health",
            "1 for the ZFS pool's current health.",
            ["host", "pool", "health"],
        )
        cap = _gauge(
            "nyiops_zpool_capacity_ratio", "Share of the pool allocated (0-1).", ["host", "pool"]
        )
        size = _gauge("nyiops_zpool_size_bytes", "Pool size.", ["host", "pool"])
        for host, pool, h, cap_pct, size_b in ZPool.objects.present().values_list(
            "host__name", "name", "health", "cap_pct", "size"
        ):
            health.add_metric([host, pool, h], 1)
            if cap_pct is not None:
                cap.add_metric([host, pool], cap_pct / 100)
            if size_b is not None:
                size.add_metric([host, pool], size_b)
        yield from (health, cap, size)

    def _mirrors(self):
        state = _gauge(
            "nyiops_gmirror_state",
            "1 for the gmirror's current state.",
            ["host", "mirror", "state"],
        )
        rebuild = _gauge(
            "nyiops_gmirror_rebuild_ratio",
            "Synchronization progress (0-1) of a component being rebuilt.",
            ["host", "mirror", "component"],
        )
        for host, name, s in Mirror.objects.present().values_list("host__name", "name", "state"):
            state.add_metric([host, name, s], 1)
        for host, mirror, comp, pct in MirrorComponent.objects.filter(
            mirror__gone_at__isnull=True, synchronized_pct__isnull=False
        ).values_list("mirror__host__name", "mirror__name", "name", "synchronized_pct"):
            rebuild.add_metric([host, mirror, comp], pct / 100)
        yield from (state, rebuild)

    def _backends(self):
        up = _gauge(
            "nyiops_haproxy_backend_servers_up",
            "Servers UP in an HAProxy backend.",
            ["host", "backend"],
        )
        total = _gauge(
            "nyiops_haproxy_backend_servers", "Servers in an HAProxy backend.", ["host", "backend"]
        )
        for host, name, n_up, n_total in HaproxyBackend.objects.present().values_list(
            "host__name", "name", "servers_up", "servers_total"
        ):
            up.add_metric([host, name], n_up)
            total.add_metric([host, name], n_total)
        yield from (up, total)

    def _backups(self, now):
        g = _gauge(
            "nyiops_backup_last_good_age_seconds",
            "Age of the newest good restore point (successful run, snapshot not refuted), "
            "per customer ('internal' for the provider's own hosts).",
            ["customer"],
        )
        good = (
            BackupRun.objects.filter(exit_code=0)
            .exclude(snapshot_verified=False)
            .values("job__source__customer__slug")
            .annotate(last=Max("finished_at"))
            .values_list("job__source__customer__slug", "last")
        )
        for slug, last in good:
            if last is not None:
                g.add_metric([slug or "internal"], (now - last).total_seconds())
        yield g

    def _alerts(self):
        g = _gauge(
            "nyiops_alerts_open", "Open alerts by severity and state.", ["severity", "state"]
        )
        for severity, state, n in (
            Alert.objects.open()
            .values("severity", "state")
            .annotate(n=Count("pk"))
            .values_list("severity", "state", "n")
        ):
            g.add_metric([severity, state], n)
        findings = _gauge("nyiops_findings", "Current findings by severity.", ["severity"])
        for severity, n in (
            Finding.objects.values("severity").annotate(n=Count("pk")).values_list("severity", "n")
        ):
            findings.add_metric([severity], n)
        outbox = _gauge(
            "nyiops_notification_outbox_pending", "Notifications waiting to be delivered."
        )
        outbox.add_metric(
            [],
            Notification.objects.filter(
                Q(status=NotificationStatus.PENDING), sent_at__isnull=True
            ).count(),
        )
        yield from (g, findings, outbox)

    def _queues(self):
        up = _gauge("nyiops_celery_broker_up", "1 when the broker answered this scrape.")
        depth = _gauge(
            "nyiops_celery_queue_messages", "Messages waiting in a Celery queue.", ["queue"]
        )
        try:
            with celery_app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                channel = conn.default_channel
                for queue in QUEUES:
                    try:
                        count = channel.queue_declare(queue=queue, passive=True).message_count
                    except (ChannelError, *conn.channel_errors):
                        count = 0  # never written to, or emptied: Redis drops empty lists
                    depth.add_metric([queue], count)
            up.add_metric([], 1)
        except Exception as exc:  # any broker failure: report it, keep the scrape
            log.warning("metrics: broker not readable: %s", exc)
            up.add_metric([], 0)
        yield from (up, depth)
