"""The audit trail (RELIABILITY.md D9) from the admin's side: every admin add, change and
delete is recorded with the request id; rows cannot be changed through querysets either; the
admin cannot edit a pinned host key and never shows a webhook secret."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from alerts.models import NotificationChannel
from audit.models import AppendOnlyError, AuditRecord
from audit.services import record
from hosts.models import Site
from tests.dashboard.factories import firewall_pair
from tests.factories import SiteFactory, UserFactory, make_public_key_line
from tests.otp import step_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)  # verified second factor, see tests/conftest.py
    return client


def test_an_admin_addition_is_audited_with_the_request_id(admin_client):
    response = admin_client.post(
        reverse("admin:hosts_site_add"), {"name": "Frankfurt 2", "slug": "fra2"}
    )

    site = Site.objects.get(slug="fra2")
    row = AuditRecord.objects.get(action="admin.add")
    assert response.status_code == 302
    assert (row.actor_name, row.target_type, row.target_id) == ("root", "hosts.site", str(site.pk))
    assert row.request_id and row.request_id == response["X-Request-ID"]


def test_an_admin_change_is_audited_with_the_fields_changed(admin_client):
    site = SiteFactory()

    response = admin_client.post(
        reverse("admin:hosts_site_change", args=[site.pk]), {"name": "Renamed", "slug": site.slug}
    )

    row = AuditRecord.objects.get(action="admin.change")
    assert row.target_id == str(site.pk) and '"Name"' in row.message
    assert row.request_id == response["X-Request-ID"]


def test_an_admin_deletion_is_audited_even_in_bulk(admin_client):
    sites = [SiteFactory(slug=f"s{n}", name=f"Site {n}") for n in range(3)]

    response = admin_client.post(
        reverse("admin:hosts_site_changelist"),
        {"action": "delete_selected", "_selected_action": [s.pk for s in sites], "post": "yes"},
    )

    rows = AuditRecord.objects.filter(action="admin.delete")
    assert response.status_code == 302 and not Site.objects.exists()
    assert sorted(rows.values_list("target_label", flat=True)) == ["Site 0", "Site 1", "Site 2"]
    assert {r.request_id for r in rows} == {response["X-Request-ID"]}


USER_FORM = {
    "username": "someone",
    "is_active": "on",
    "is_staff": "on",
    "is_superuser": "on",
    "date_joined_0": "2026-01-01",
    "date_joined_1": "00:00:00",
}


def test_a_change_to_a_user_in_the_admin_is_audited(admin_client, admin_user):
    user = UserFactory(username="someone")
    step_up(admin_client, admin_user)

    admin_client.post(reverse("admin:auth_user_change", args=[user.pk]), USER_FORM)

    assert AuditRecord.objects.filter(action="admin.change", target_label="someone").exists()


def test_changing_users_in_the_admin_needs_a_recent_reauth(admin_client):
    user = UserFactory(username="someone")
    url = reverse("admin:auth_user_change", args=[user.pk])

    response = admin_client.post(url, USER_FORM)

    user.refresh_from_db()
    assert response.status_code == 302 and response.url.startswith(reverse("reauth"))
    assert "next=%2Fadmin%2Fauth%2Fuser%2F" in response.url
    assert not user.is_superuser
    assert admin_client.get(url).status_code == 200  # reading needs no step-up


@pytest.mark.parametrize(
    "url_name",
    ["admin:auth_group_add", "admin:otp_totp_totpdevice_add", "admin:customers_membership_add"],
)
def test_granting_rights_or_devices_in_the_admin_needs_a_recent_reauth(admin_client, url_name):
    response = admin_client.post(reverse(url_name), {"name": "Escalated"})

    assert response.status_code == 302 and response.url.startswith(reverse("reauth"))


def test_other_admin_changes_need_no_step_up(admin_client):
    response = admin_client.post(reverse("admin:hosts_site_add"), {"name": "X", "slug": "x1"})

    assert response.status_code == 302 and Site.objects.filter(slug="x1").exists()


def test_every_audit_row_of_a_request_carries_its_id(client, noc_user):
    _c, host, _b = firewall_pair("fwq")
    host.offered_key_type, host.offered_key_base64 = make_public_key_line().split()[:2]
    host.save()
    client.force_login(noc_user)
    step_up(client, noc_user)

    response = client.post(reverse("hosts:host-key", args=[host.pk]), {"decision": "reject"})

    row = AuditRecord.objects.get(action__startswith="host.reject")
    assert row.request_id == response["X-Request-ID"] != ""


def test_a_proxy_request_id_is_kept_when_it_is_safe(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == (
        "lb-1234abcd"
    )
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x\nINFO forged log line")
    assert forged["X-Request-ID"] != "x\nINFO forged log line"


def test_rows_written_outside_a_request_have_no_request_id():
    assert record(actor=None, action="test.system").request_id == ""


def test_audit_rows_cannot_be_updated_or_deleted_through_querysets():
    row = record(actor=None, action="test.immutable", message="original")

    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=row.pk).update(message="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        row.message = "rewritten"
        row.save()
    assert AuditRecord.objects.get(pk=row.pk).message == "original"


def test_deleting_a_user_keeps_their_audit_rows_and_their_name():
    user = UserFactory(username="leaver")
    row = record(actor=user, action="test.leaver")

    get_user_model().objects.filter(pk=user.pk).delete()

    row = AuditRecord.objects.get(pk=row.pk)
    assert row.actor is None and row.actor_name == "leaver"


def test_the_admin_shows_the_pinned_host_key_but_cannot_edit_it(admin_client):
    _c, host, _b = firewall_pair("fwp")

    page = admin_client.get(reverse("admin:hosts_host_change", args=[host.pk])).content.decode()

    assert 'name="host_key_base64"' not in page and 'name="host_key_type"' not in page


def test_the_webhook_secret_is_write_only_in_the_admin(admin_client):
    channel = NotificationChannel.objects.create(
        name="team", kind="webhook", url="https://hooks.example/x", secret="s3cret-hmac-key"
    )
    url = reverse("admin:alerts_notificationchannel_change", args=[channel.pk])
    form = {"name": "team", "kind": "webhook", "url": "https://hooks.example/x", "enabled": "on"}

    page = admin_client.get(url).content.decode()
    kept = admin_client.post(url, form | {"secret": ""})
    secret_after_empty = NotificationChannel.objects.get(pk=channel.pk).secret
    admin_client.post(url, form | {"secret": "new-hmac-key"})
    secret_after_new = NotificationChannel.objects.get(pk=channel.pk).secret

    assert "s3cret-hmac-key" not in page
    assert kept.status_code == 302
    assert secret_after_empty == "s3cret-hmac-key"
    assert secret_after_new == "new-hmac-key"
