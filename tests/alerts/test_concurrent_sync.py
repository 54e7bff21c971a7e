"""Two workers syncing the alerts of a pair's two members at the same moment (a failover is
polled on both) must both succeed: a deadlock there was a page that waited for the sweeper."""

import threading

import pytest
from django.db import connection, connections

from alerts import services
from alerts.models import Alert
from hosts.models import Finding
from tests.factories import ClusterFactory, ClusterMemberFactory, FindingFactory, HostFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and deadlock detection are PostgreSQL's; SQLite serialises writers",
    ),
]

ROUNDS = 20


def _member_churn(host, cluster, errors, start):
    """What one member's polls do to its scopes during a flapping failover."""
    scopes = [f"host:{host.pk}", f"cluster:{cluster.pk}"]
    try:
        start.wait()
        for n in range(ROUNDS):
            if n % 2:
                Finding.objects.filter(host=host).delete()
                Finding.objects.filter(dedup_key=f"master:{host.pk}").delete()
            else:
                # The member goes down and its peer's takeover is seen: a root and a child
                # that regrouping links, in whichever order the two workers get there.
                FindingFactory(host=host, kind="host_unreachable", dedup_key=f"down:{host.pk}")
                FindingFactory(
                    cluster=cluster,
                    kind="preferred_master_is_backup",
                    dedup_key=f"master:{host.pk}",
                )
            Finding.objects.filter(dedup_key__startswith="split:").update(
                severity=("warning", "critical")[n % 2]
            )
            services.sync_alerts(scopes)
    except Exception as exc:  # the assertion below reports it with its type
        errors.append(exc)
    finally:
        connections.close_all()


def test_both_members_of_a_pair_sync_their_alerts_at_once_without_deadlock(settings):
    settings.NYIOPS_ALERT_HOLD_SECONDS = 0
    cluster = ClusterFactory(name="fw-pair-1", kind="firewall")
    members = [HostFactory(name="fw1a"), HostFactory(name="fw1b")]
    for host, role in zip(members, ("primary", "backup"), strict=True):
        ClusterMemberFactory(cluster=cluster, host=host, role=role)
    FindingFactory(cluster=cluster, kind="split_brain", dedup_key=f"split:{cluster.pk}")
    errors, start = [], threading.Barrier(2)

    workers = [
        threading.Thread(target=_member_churn, args=(host, cluster, errors, start))
        for host in members
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    assert Alert.objects.open().filter(dedup_key=f"split:{cluster.pk}").count() == 1
