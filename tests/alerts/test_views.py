"""Alert pages: staff only, CSRF on writes, htmx partials, the single-use ack link."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts import links, services
from alerts.choices import AlertState, EventKind
from alerts.models import AckLink, Alert
from audit.models import AuditRecord
from tests.alerts.conftest import run_due
from tests.alerts.factories import failover_finding
from tests.factories import FindingFactory, HostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(clock, pair, oncall):
    failover_finding(pair[0])
    services.sync_alerts([f"cluster:{pair[0].pk}"])
    run_due(timezone.now())
    return Alert.objects.get()


def page_urls(alert):
    return [
        reverse("alerts:list"),
        reverse("alerts:oncall"),
        reverse("alerts:open-partial"),
        reverse("alerts:detail", args=[alert.pk]),
    ]


def test_customer_users_get_403_on_every_alert_page(client, alert, customer_a_user):
    client.force_login(customer_a_user)
    for url in page_urls(alert):
        assert client.get(url).status_code == 403, url
    for name in ("alerts:ack", "alerts:resolve"):
        assert client.post(reverse(name, args=[alert.pk])).status_code == 403
    assert client.post(reverse("alerts:bulk-ack"), {"alert": [alert.pk]}).status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING


def test_anonymous_users_are_sent_to_login(client, alert):
    for url in page_urls(alert):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_see_the_pages_with_the_failover_text(client, alert, oncall_user):
    client.force_login(oncall_user)
    for url in page_urls(alert):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "fw1b became MASTER for vhid 1, 2 (was fw1a)" in response.content.decode(), url


def test_unknown_alert_is_404(client, oncall_user, db):
    client.force_login(oncall_user)
    assert client.get(reverse("alerts:detail", args=[999999])).status_code == 404


def test_oncall_page_shows_my_alert_and_who_is_on_call(client, alert, oncall_user):
    client.force_login(oncall_user)
    body = client.get(reverse("alerts:oncall")).content.decode()
    assert "Now: <strong>oscar-oncall</strong>" in body
    assert "secondary nora-noc" in body
    assert f'id="alert-{alert.pk}"' in body.split("My open alerts")[1].split("Open alerts")[0]


def test_detail_shows_the_timeline(client, alert, noc_user):
    client.force_login(noc_user)
    body = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert "Opened" in body and "notified oscar-oncall via email" in body
    assert "Unexpected: no operation or maintenance window explains it." in body


def test_htmx_ack_with_csrf_header_acknowledges_and_returns_the_row(alert, oncall_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(oncall_user)
    client.get(reverse("alerts:oncall"))
    token = client.cookies["csrftoken"].value

    response = client.post(
        reverse("alerts:ack", args=[alert.pk]),
        {"note": "on it", "eta_minutes": "15"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="alert-{alert.pk}"')
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.ack_note == "on it"
    assert alert.ack_eta == timezone.now() + dt.timedelta(minutes=15)
    assert AuditRecord.objects.filter(action="alerts.acknowledge", actor=oncall_user).exists()


def test_ack_without_csrf_token_is_refused(alert, oncall_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(oncall_user)

    response = client.post(reverse("alerts:ack", args=[alert.pk]), headers={"HX-Request": "true"})

    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING


def test_ack_page_views_refuse_get(client, alert, oncall_user):
    client.force_login(oncall_user)
    assert client.get(reverse("alerts:ack", args=[alert.pk])).status_code == 405
    assert client.get(reverse("alerts:resolve", args=[alert.pk])).status_code == 405


def test_resolve_with_note_records_who_and_why(client, alert, noc_user):
    client.force_login(noc_user)

    response = client.post(reverse("alerts:resolve", args=[alert.pk]), {"note": "replaced"})

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolved_by == noc_user
    assert alert.events.get(kind=EventKind.RESOLVED).text == "resolved by nora-noc: replaced"


def test_bulk_ack_acknowledges_the_selected_open_alerts(client, clock, oncall, noc_user):
    hosts = [HostFactory() for _ in range(3)]
    for i, host in enumerate(hosts):
        FindingFactory(host=host, dedup_key=f"k{i}")
        services.sync_alerts([f"host:{host.pk}"])
    first, second, third = Alert.objects.order_by("pk")
    client.force_login(noc_user)

    client.post(reverse("alerts:bulk-ack"), {"alert": [first.pk, second.pk], "note": "storm"})

    states = dict(Alert.objects.values_list("pk", "state"))
    assert states == {first.pk: "acknowledged", second.pk: "acknowledged", third.pk: "firing"}


def test_list_filters_by_state_and_severity(client, clock, oncall, noc_user):
    host = HostFactory()
    FindingFactory(host=host, dedup_key="warn", severity="warning", subject="warnhost")
    FindingFactory(host=host, dedup_key="crit", severity="critical", subject="crithost")
    services.sync_alerts([f"host:{host.pk}"])
    client.force_login(noc_user)

    body = client.get(reverse("alerts:list"), {"severity": "critical"}).content.decode()
    assert "crithost" in body and "warnhost" not in body
    body = client.get(reverse("alerts:list"), {"state": "resolved"}).content.decode()
    assert "crithost" not in body


def test_open_partial_rearms_its_own_poll(client, alert, noc_user):
    client.force_login(noc_user)
    body = client.get(reverse("alerts:open-partial"), headers={"HX-Request": "true"}).content
    body = body.decode()
    assert 'id="open-alerts"' in body and 'hx-trigger="every 10s' in body
    assert "1 firing" in body


def split_link(url: str) -> tuple[str, str]:
    """(the path the browser requests, the secret it keeps in the fragment)."""
    path, _, secret = url.removeprefix(links.base_url()).partition("#")
    return path, secret


def test_one_click_link_acknowledges_without_login(alert, oncall_user):
    client = Client(enforce_csrf_checks=True)
    path, secret = split_link(links.ack_url(alert.pk, oncall_user.pk))

    page = client.get(path)
    alert.refresh_from_db()
    assert page.status_code == 200 and alert.state == AlertState.FIRING  # GET changes nothing
    assert 'src="/static/js/ack-link.js"' in page.content.decode()
    response = client.post(
        path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, "secret": secret}
    )

    assert (
        response.status_code == 200 and "Acknowledged as oscar-oncall" in response.content.decode()
    )
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledged_by == oncall_user
    assert "via link" in alert.events.get(kind=EventKind.ACKNOWLEDGED).text


def test_the_link_secret_is_never_in_the_path_the_server_sees(alert, oncall_user):
    url = links.ack_url(alert.pk, oncall_user.pk)
    path, secret = split_link(url)

    assert len(secret) >= 32 and secret not in path
    assert not AckLink.objects.filter(token_hash__contains=secret).exists()  # stored hashed


def test_a_link_works_once(client, alert, oncall_user):
    path, secret = split_link(links.ack_url(alert.pk, oncall_user.pk))
    client.post(path, {"secret": secret})

    again = client.post(path, {"secret": secret})
    shown = client.get(path)

    assert again.status_code == 403 and "already used" in again.content.decode()
    assert shown.status_code == 403


def test_two_simultaneous_uses_of_one_link_acknowledge_once(alert, oncall_user):
    path, secret = split_link(links.ack_url(alert.pk, oncall_user.pk))
    public_id = path.rstrip("/").rsplit("/", 1)[-1]

    links.redeem(public_id, secret)
    with pytest.raises(links.InvalidAckLink, match="already used"):
        links.redeem(public_id, secret)


def test_a_wrong_secret_or_unknown_link_is_refused(client, alert, oncall_user):
    path, secret = split_link(links.ack_url(alert.pk, oncall_user.pk))
    _other_path, other_secret = split_link(links.ack_url(alert.pk, oncall_user.pk))

    for bad in (other_secret, secret[:-2] + "xx", ""):
        response = client.post(path, {"secret": bad})
        assert response.status_code == 403, bad
    assert client.post(reverse("alerts:ack-link", args=["garbage"])).status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING
    assert client.post(path, {"secret": secret}).status_code == 200  # a wrong guess burns nothing


def test_expired_ack_link_is_refused(client, alert, oncall_user, clock):
    path, secret = split_link(links.ack_url(alert.pk, oncall_user.pk))
    clock.shift(dt.timedelta(seconds=links.MAX_AGE_SECONDS + 1))

    response = client.post(path, {"secret": secret})

    assert response.status_code == 403 and "expired" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING


def test_ack_link_of_a_customer_user_is_refused(client, alert, customer_a_user):
    path, secret = split_link(links.ack_url(alert.pk, customer_a_user.pk))

    assert client.post(path, {"secret": secret}).status_code == 403


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_bulk_ack_never_redirects_off_site(client, alert, noc_user, next_url):
    client.force_login(noc_user)

    response = client.post(reverse("alerts:bulk-ack"), {"alert": [alert.pk], "next": next_url})

    assert response.status_code == 302 and response.url == reverse("alerts:list")


def test_bulk_ack_returns_to_a_local_next(client, alert, noc_user):
    client.force_login(noc_user)

    response = client.post(
        reverse("alerts:bulk-ack"), {"alert": [alert.pk], "next": "/alerts/oncall/"}
    )

    assert response.url == "/alerts/oncall/"


def test_links_expired_for_a_week_are_deleted_when_new_ones_are_made(alert, oncall_user, clock):
    old_path, _ = split_link(links.ack_url(alert.pk, oncall_user.pk))
    clock.shift(dt.timedelta(seconds=links.MAX_AGE_SECONDS + 1) + links.KEEP_EXPIRED)

    links.ack_url(alert.pk, oncall_user.pk)

    assert AckLink.objects.count() == 1
    assert not AckLink.objects.filter(public_id=old_path.rstrip("/").rsplit("/", 1)[-1]).exists()
