"""Customer impact from the topology, on the NOC's alert page and overview."""

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from customers.models import JailRequest
from portal.impact import impact_of
from tests.factories import BackupJobFactory, ClusterFactory, ClusterMemberFactory, HostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def topology(customer_a, customer_b):
    nas = HostFactory(name="nas9", roles=["storage"])  # internal
    a_web = HostFactory(name="a-web", customer=customer_a)
    jh = HostFactory(name="jh-shared", roles=["jailhost"])  # internal jail host
    fw = ClusterFactory(name="b-fw", customer=customer_b)
    ClusterMemberFactory(cluster=fw, host=HostFactory(name="b-fw1", customer=customer_b))
    BackupJobFactory(name="a-web-backup", source=a_web, target=nas)
    JailRequest.objects.create(
        customer=customer_b,
        purpose="staging",
        name="bjail",
        hostname="bjail.b.example",
        size_gb=1,
        ip="203.0.113.11",
        host=jh,
        status="ready",
    )
    return {"nas": nas, "a_web": a_web, "jh": jh, "fw": fw}


def test_a_storage_host_touches_the_customers_whose_backups_land_on_it(topology):
    impacts = impact_of(host_ids=[topology["nas"].pk])

    assert [(i.customer, i.services) for i in impacts] == [("Customer A", ("backup a-web-backup",))]


def test_a_jail_host_touches_the_customers_with_jails_on_it(topology):
    impacts = impact_of(host_ids=[topology["jh"].pk])

    assert [(i.slug, i.services) for i in impacts] == [("customer-b", ("jail bjail on jh-shared",))]


def test_a_cluster_member_touches_the_clusters_customer(topology):
    member = topology["fw"].members.get().host

    impacts = impact_of(host_ids=[member.pk])

    assert impacts[0].slug == "customer-b"
    assert "b-fw (firewall)" in impacts[0].services and "host b-fw1" in impacts[0].services


def test_the_alert_page_and_the_overview_name_the_affected_customers(client, topology, noc_user):
    now = timezone.now()
    alert = Alert.objects.create(
        dedup_key="pool:nas9",
        scope="host",
        kind="pool",
        severity="warning",
        subject="nas9",
        message="pool degraded",
        host=topology["nas"],
        opened_at=now,
        last_seen_at=now,
    )
    client.force_login(noc_user)

    detail = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    overview = client.get(reverse("hosts:overview")).content.decode()

    for body in (detail, overview):
        assert "Customer A" in body and "backup a-web-backup" in body


def test_the_operation_page_names_the_affected_customers(client, topology, noc_user):
    from operations.models import Operation

    op = Operation.objects.create(
        kind="jail-stop",
        target_label="bjail on jh-shared",
        host=topology["jh"],
        affected_host_ids=[topology["jh"].pk],
        requested_by_name="nora-noc",
    )
    client.force_login(noc_user)

    body = client.get(reverse("operations:detail", args=[op.pk])).content.decode()

    assert "Customer impact" in body and "jail bjail on jh-shared" in body
