"""The portal shows a customer its own objects only; everyone else's are 404."""

import pytest
from django.urls import reverse

from tests.factories import ClusterFactory, HostFactory

pytestmark = pytest.mark.django_db


def test_portal_lists_only_own_hosts_and_clusters(client, customer_a_user, customer_a, customer_b):
    HostFactory(name="a-web1", customer=customer_a)
    HostFactory(name="b-web1", customer=customer_b)
    ClusterFactory(name="a-pair", customer=customer_a)
    ClusterFactory(name="b-pair", customer=customer_b)
    client.force_login(customer_a_user)

    body = client.get(reverse("customers:portal")).content.decode()

    assert "a-web1" in body and "a-pair" in body
    assert "b-web1" not in body and "b-pair" not in body


def test_host_of_another_tenant_is_404(client, customer_a_user, customer_b):
    other = HostFactory(customer=customer_b)
    client.force_login(customer_a_user)

    assert client.get(reverse("customers:host", args=[other.pk])).status_code == 404


def test_nonexistent_host_is_the_same_404(client, customer_a_user):
    client.force_login(customer_a_user)

    assert client.get(reverse("customers:host", args=[999999])).status_code == 404


def test_own_host_is_shown(client, customer_a_user, customer_a):
    host = HostFactory(name="a-db1", customer=customer_a)
    client.force_login(customer_a_user)

    response = client.get(reverse("customers:host", args=[host.pk]))

    assert response.status_code == 200 and "a-db1" in response.content.decode()


def test_internal_hosts_are_not_visible_to_customers(client, customer_a_user):
    internal = HostFactory(customer=None)
    client.force_login(customer_a_user)

    assert client.get(reverse("customers:host", args=[internal.pk])).status_code == 404


def test_customer_user_gets_403_on_noc_pages(client, customer_a_user):
    client.force_login(customer_a_user)

    assert client.get(reverse("hosts:inventory")).status_code == 403
    assert client.get(reverse("admin:index")).status_code == 302  # admin login, not the admin


def test_noc_user_is_not_a_portal_user(client, noc_user):
    client.force_login(noc_user)

    assert client.get(reverse("customers:portal")).status_code == 403


def test_home_sends_each_role_to_its_landing_page(client, noc_user, customer_a_user):
    client.force_login(noc_user)
    assert client.get(reverse("home")).url == reverse("hosts:overview")
    client.force_login(customer_a_user)
    assert client.get(reverse("home")).url == reverse("customers:portal")


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("hosts:inventory"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
