"""The role groups after a migrate or a flush: created once, after every app's permissions."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal

import nyiops.roles
from nyiops.roles import CUSTOMER, NOC, ONCALL, WALLBOARD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_flush_leaves_the_role_groups_with_every_apps_permissions():
    call_command("flush", "--no-input", verbosity=0)  # as after every transactional test

    assert set(Group.objects.values_list("name", flat=True)) == {NOC, ONCALL, CUSTOMER, WALLBOARD}
    noc = Group.objects.get(name=NOC)
    for app in ("customers", "hosts", "alerts", "operations"):
        assert noc.permissions.filter(content_type__app_label=app).exists(), app
    assert noc.permissions.filter(codename="view_auditrecord").exists()
    oncall = Group.objects.get(name=ONCALL)
    assert oncall.permissions.filter(codename="change_alert").exists()
    assert not oncall.permissions.filter(codename="change_host").exists()


def test_the_role_groups_are_ensured_once_per_migrate_not_once_per_app(monkeypatch):
    calls = []
    monkeypatch.setattr(nyiops.roles, "ensure_role_groups", lambda **kw: calls.append(kw))

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert len(calls) == 1
