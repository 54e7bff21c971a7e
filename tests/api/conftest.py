"""API personas: a token for each of the project personas, and a small two-tenant fleet.

Customer A owns fw-a1/fw-a2 (pair fw-pair-a) and a backup job; customer B owns fw-b1/fw-b2
(pair fw-pair-b); every observed-state kind exists once per tenant, so every list and detail
route has something of each tenant to show or to hide."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts import dispatch
from alerts.models import Alert
from api.tokens import create_token
from hosts.models import (
    BackupRun,
    CarpVhid,
    Finding,
    HaproxyBackend,
    HaproxyServer,
    HostFacts,
    Jail,
    Mirror,
    MirrorComponent,
    StatusEvent,
    ZPool,
    ZPoolDevice,
)
from tests.factories import (
    BackupJobFactory,
    ClusterFactory,
    ClusterMemberFactory,
    HostFactory,
    SiteFactory,
)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Tasks the services enqueue are recorded, not sent to a broker."""
    sent = []
    monkeypatch.setattr(dispatch, "_send", lambda name, args, countdown=0: sent.append(name))
    return sent


def client_for(user, **token_kwargs) -> APIClient:
    _token, secret = create_token(user, name="test", **token_kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token_secret = secret
    return client


@pytest.fixture
def noc_api(noc_user):
    return client_for(noc_user)


@pytest.fixture
def oncall_api(oncall_user):
    return client_for(oncall_user)


@pytest.fixture
def customer_a_api(customer_a_user):
    return client_for(customer_a_user)


@pytest.fixture
def customer_b_api(customer_b_user):
    return client_for(customer_b_user)


def _tenant_fleet(customer, tag: str, site) -> dict:
    now = timezone.now()
    h1 = HostFactory(name=f"fw-{tag}1", roles=["firewall", "storage"], customer=customer, site=site)
    h2 = HostFactory(name=f"fw-{tag}2", roles=["firewall"], customer=customer, site=site)
    for h in (h1, h2):
        h.reachability, h.last_success_at = "ok", now
        h.save()
        HostFacts.objects.create(host=h, pf_states=1000, pfsync_present=True, pfsync_syncok=1)
    cluster = ClusterFactory(name=f"fw-pair-{tag}", kind="firewall", customer=customer)
    ClusterMemberFactory(cluster=cluster, host=h1, role="primary")
    ClusterMemberFactory(cluster=cluster, host=h2, role="backup")
    vhid = CarpVhid.objects.create(
        host=h1,
        interface="em0",
        vhid=1,
        state="MASTER",
        advbase=1,
        advskew=0,
        vips=["192.0.2.1/24"],
        changed_at=now,
    )
    CarpVhid.objects.create(
        host=h2,
        interface="em0",
        vhid=1,
        state="BACKUP",
        advbase=1,
        advskew=100,
        vips=["192.0.2.1/24"],
        changed_at=now,
    )
    pool = ZPool.objects.create(
        host=h1,
        name="zroot",
        health="ONLINE",
        size=10**12,
        alloc=10**11,
        cap_pct=10,
        changed_at=now,
    )
    ZPoolDevice.objects.create(pool=pool, position=0, name="ada0p3", state="ONLINE")
    mirror = Mirror.objects.create(host=h1, name="gm0", state="DEGRADED", changed_at=now)
    MirrorComponent.objects.create(
        mirror=mirror, name="ada1", state="SYNCHRONIZING", synchronized_pct=42
    )
    jail = Jail.objects.create(host=h1, name=f"www-{tag}", jid=1, changed_at=now)
    backend = HaproxyBackend.objects.create(
        host=h1, name="web", status="UP", servers_up=2, servers_total=2, changed_at=now
    )
    HaproxyServer.objects.create(backend=backend, name="web1", status="UP", changed_at=now)
    job = BackupJobFactory(name=f"backup-{tag}", source=h2, target=h1)
    run = BackupRun.objects.create(
        job=job,
        started_at=now - dt.timedelta(hours=1),
        finished_at=now - dt.timedelta(minutes=50),
        exit_code=0,
    )
    finding = Finding.objects.create(
        dedup_key=f"mirror_degraded:{h1.pk}:gm0",
        scope=f"host:{h1.pk}",
        kind="mirror_degraded",
        severity="warning",
        host=h1,
        subject=h1.name,
        message="gm0 DEGRADED",
        first_seen_at=now,
        last_seen_at=now,
    )
    event = StatusEvent.objects.create(
        host=h1,
        at=now,
        subject_type="carp",
        subject="vhid 1@em0",
        field="state",
        old="BACKUP",
        new="MASTER",
    )
    alert = Alert.objects.create(
        dedup_key=finding.dedup_key,
        scope=finding.scope,
        kind=finding.kind,
        severity="warning",
        subject=h1.name,
        message="gm0 DEGRADED",
        host=h1,
        customer=customer,
        opened_at=now,
        last_seen_at=now,
    )
    return {
        "customer": customer,
        "hosts": [h1, h2],
        "cluster": cluster,
        "vhid": vhid,
        "pool": pool,
        "mirror": mirror,
        "jail": jail,
        "backend": backend,
        "job": job,
        "run": run,
        "finding": finding,
        "event": event,
        "alert": alert,
        "site": site,
    }


@pytest.fixture
def fleet(customer_a, customer_b):
    site_a = SiteFactory(slug="nyc1", name="New York 1")
    site_b = SiteFactory(slug="ams1", name="Amsterdam 1")
    return {
        "a": _tenant_fleet(customer_a, "a", site_a),
        "b": _tenant_fleet(customer_b, "b", site_b),
    }
