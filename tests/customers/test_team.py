"""Customer admins invite and remove users of their own company only."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from customers.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def a_admin(customer_a_user):
    customer_a_user.membership.role = "admin"
    customer_a_user.membership.save()
    return customer_a_user


def test_an_admin_invites_a_user_of_their_own_company(
    client, a_admin, customer_a, django_capture_on_commit_callbacks
):
    client.force_login(a_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:team"),
            {"username": "bob-a", "email": "bob@a.example", "role": "viewer"},
        )

    assert response.status_code == 302
    bob = get_user_model().objects.get(username="bob-a")
    assert bob.membership.customer == customer_a and not bob.has_usable_password()
    assert not bob.is_staff and list(bob.groups.values_list("name", flat=True)) == ["Customer"]
    link = re.search(r"http\S+/portal/welcome/\S+/", mail.outbox[0].body).group(0)
    path = link.split("8000", 1)[-1]
    page = client.get(path, follow=True)
    assert page.status_code == 200 and page.context["validlink"]


def test_a_viewer_cannot_manage_the_team(client, customer_a_user):
    client.force_login(customer_a_user)

    assert client.get(reverse("customers:team")).status_code == 403
    response = client.post(reverse("customers:team"), {"username": "x", "email": "x@a.example"})
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="x").exists()


def test_an_admin_removes_a_user_of_their_company(client, a_admin, customer_a):
    client.force_login(a_admin)
    client.post(
        reverse("customers:team"), {"username": "bob-a", "email": "b@a.example", "role": "viewer"}
    )
    bob = get_user_model().objects.get(username="bob-a")

    client.post(reverse("customers:team-remove", args=[bob.pk]))

    bob.refresh_from_db()
    assert not bob.is_active and not Membership.objects.filter(user=bob).exists()


def test_an_admin_cannot_remove_another_companys_user(client, a_admin, customer_b_user):
    client.force_login(a_admin)

    response = client.post(reverse("customers:team-remove", args=[customer_b_user.pk]))

    customer_b_user.refresh_from_db()
    assert response.status_code == 404
    assert customer_b_user.is_active and customer_b_user.membership.customer.slug == "customer-b"


def test_an_admin_cannot_remove_themselves(client, a_admin):
    client.force_login(a_admin)

    client.post(reverse("customers:team-remove", args=[a_admin.pk]))

    a_admin.refresh_from_db()
    assert a_admin.is_active


def test_the_team_page_lists_only_the_admins_company(client, a_admin, customer_b_user):
    client.force_login(a_admin)

    body = client.get(reverse("customers:team")).content.decode()

    assert "alice-a" in body and "charlie-b" not in body
