"""The portal's live widgets: the customer's own things only, verdicts in customer words
from the one judge, 204 when unchanged, and no other tenant's host names (the shared-cluster
leak)."""

import pytest
from django.urls import reverse

from customers.models import JailRequest
from portal import widgets as portal
from tests.dashboard.factories import FreshHostFactory
from tests.factories import ClusterFactory, ClusterMemberFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_portal_shows_the_customers_jails_and_none_of_the_others(client, world, customer_a_user):
    client.force_login(customer_a_user)

    body = client.get(reverse("customers:portal")).content.decode()

    assert "shop.a.example" in body
    assert "secret" not in body and "jh-b1" not in body


def test_a_shared_cluster_does_not_name_another_customers_member(
    client, customer_a, customer_b, customer_a_user
):
    cluster = ClusterFactory(name="shared-fw", kind="firewall", customer=customer_a)
    ClusterMemberFactory(cluster=cluster, host=FreshHostFactory(name="a-fw1", customer=customer_a))
    ClusterMemberFactory(
        cluster=cluster, host=FreshHostFactory(name="b-fw9", customer=customer_b), role="backup"
    )
    client.force_login(customer_a_user)

    body = client.get(reverse("customers:portal")).content.decode()

    assert "shared-fw" in body and "a-fw1" in body
    assert "b-fw9" not in body
    assert "1 shared node" in body


def test_service_verdicts_are_in_customer_words():
    assert portal.service_words("firewall", "ok", "ok", False) == (
        "Firewall pair healthy, failover ready"
    )
    assert portal.service_words("firewall", "warning", "critical", False) == (
        "Firewall pair degraded: our NOC is on it, failover not ready"
    )
    assert portal.service_words("loadbalancer", "unknown", None, True).startswith(
        "Load-balancer pair: status unknown right now"
    )


@pytest.mark.parametrize("name", list(portal.WIDGETS))
def test_each_widget_answers_204_when_the_client_shows_this_version(
    client, world, customer_a_user, name
):
    client.force_login(customer_a_user)
    url = reverse(f"customers:widget-{name}")

    first = client.get(url, **HTMX)
    again = client.get(url, HTTP_X_NYIOPS_VERSION=first["X-Nyiops-Version"], **HTMX)

    assert first.status_code == 200 and again.status_code == 204


def test_jails_widget_changes_when_a_jail_stops(client, world, customer_a_user):
    client.force_login(customer_a_user)
    url = reverse("customers:widget-jails")
    first = client.get(url, **HTMX)
    world.a_shop.running = False
    world.a_shop.save()

    again = client.get(url, HTTP_X_NYIOPS_VERSION=first["X-Nyiops-Version"], **HTMX)

    assert again.status_code == 200 and "stopped" in again.content.decode()


def test_a_widget_without_htmx_sends_the_reader_to_the_page(client, world, customer_a_user):
    client.force_login(customer_a_user)

    response = client.get(reverse("customers:widget-jails"))

    assert response.status_code == 302 and response.url == reverse("customers:portal")


def test_request_status_partial_is_scoped_and_live(
    client, world, customer_a, customer_a_user, customer_b_user
):
    req = JailRequest.objects.create(
        customer=customer_a,
        purpose="staging",
        name="st",
        hostname="st.a.example",
        size_gb=1,
        ip="198.51.100.12",
    )
    client.force_login(customer_a_user)
    url = reverse("customers:request-status", args=[req.pk])
    first = client.get(url, **HTMX)
    assert first.status_code == 200 and "Waiting for approval" in first.content.decode()
    assert (
        client.get(url, HTTP_X_NYIOPS_VERSION=first["X-Nyiops-Version"], **HTMX).status_code == 204
    )

    client.force_login(customer_b_user)
    assert client.get(url, **HTMX).status_code == 404


def test_operations_on_the_customers_hosts_show_as_planned_maintenance(
    client, world, customer_a_user, customer_b_user
):
    from operations.models import Operation

    Operation.objects.create(
        kind="jail-restart",
        state="planned",
        target_label="shop on jh-a1",
        host=world.a_host1,
        reason="NOC note naming jh-b1",
        requested_by_name="nora-noc",
    )
    client.force_login(customer_a_user)

    body = client.get(reverse("customers:widget-incidents"), **HTMX).content.decode()

    assert "jh-a1: Restart a jail (planned)" in body
    assert "jh-b1" not in body
    client.force_login(customer_b_user)
    other = client.get(reverse("customers:widget-incidents"), **HTMX).content.decode()
    assert "Restart a jail" not in other
