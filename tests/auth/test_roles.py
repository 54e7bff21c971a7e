"""Roles are Django groups (nyiops.roles). A request asks several role questions (staff?
NOC? on-call? a wallboard?) and reads the user's groups once; a group change applies from
the user's next request, and at once to a user object kept past a request."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from nyiops.roles import (
    NOC,
    ONCALL,
    WALLBOARD,
    RolesBackend,
    is_noc,
    is_oncall,
    is_staff_role,
    is_wallboard,
)
from tests.dashboard.factories import firewall_pair
from tests.otp import verify_session

pytestmark = pytest.mark.django_db


def group_queries(captured) -> list[str]:
    return [q["sql"] for q in captured if '"auth_user_groups"' in q["sql"]]


def test_every_role_question_of_one_user_object_reads_its_groups_once(oncall_user):
    with CaptureQueriesContext(connection) as ctx:
        answers = (
            is_noc(oncall_user),
            is_oncall(oncall_user),
            is_staff_role(oncall_user),
            is_wallboard(oncall_user),
        )
    assert answers == (False, True, True, False)
    assert len(group_queries(ctx.captured_queries)) == 1


def test_a_group_change_applies_to_a_user_object_already_asked(oncall_user):
    assert not is_wallboard(oncall_user)

    oncall_user.groups.add(Group.objects.get(name=WALLBOARD))
    assert is_wallboard(oncall_user)

    oncall_user.groups.remove(Group.objects.get(name=ONCALL))
    assert not is_oncall(oncall_user)


def test_a_staff_page_reads_the_groups_once_and_a_removed_user_is_refused_next_request(
    client, noc_user
):
    cluster, _a, _b = firewall_pair("fw1")
    client.force_login(noc_user)
    verify_session(client, noc_user)
    url = reverse("hosts:cluster-health", args=[cluster.pk])
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_X_NYIOPS_POLL": "1"}

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, **htmx).status_code == 200
    assert len(group_queries(ctx.captured_queries)) == 1

    noc_user.groups.remove(Group.objects.get(name=NOC))
    assert client.get(url, **htmx).status_code == 403


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the group names as an array: PostgreSQL's"
)
def test_on_postgresql_a_request_loads_its_user_and_groups_in_one_query(oncall_user):
    oncall_user.groups.add(Group.objects.get(name=WALLBOARD))
    backend = RolesBackend()

    with CaptureQueriesContext(connection) as ctx:
        user = backend.get_user(oncall_user.pk)
        answers = (is_noc(user), is_oncall(user), is_wallboard(user))

    assert answers == (False, True, True)
    assert len(ctx.captured_queries) == 1


def test_the_backend_loads_a_user_without_groups_and_refuses_an_inactive_one(django_user_model):
    loner = django_user_model.objects.create_user("loner", password="x" * 16)
    backend = RolesBackend()

    assert not is_noc(backend.get_user(loner.pk))
    assert backend.get_user(loner.pk + 1000) is None

    loner.is_active = False
    loner.save()
    assert backend.get_user(loner.pk) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plain SQL on PostgreSQL only")
def test_the_user_the_backend_loads_is_the_one_the_orm_loads(django_user_model, oncall_user):
    from django.utils import timezone

    oncall_user.last_login = timezone.now()
    oncall_user.first_name = "Åsa"
    oncall_user.save()
    fields = [f.attname for f in django_user_model._meta.concrete_fields]

    loaded = RolesBackend().get_user(oncall_user.pk)
    expected = django_user_model.objects.get(pk=oncall_user.pk)

    assert {f: getattr(loaded, f) for f in fields} == {f: getattr(expected, f) for f in fields}
    assert loaded.last_login.tzinfo is not None
    assert not loaded._state.adding and loaded._state.db == "default"
