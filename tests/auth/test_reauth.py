"""Step-up re-authentication (RELIABILITY.md D7): approving a host key needs a password and a
code entered within the last 15 minutes (settings.NYIOPS_REAUTH_MINUTES), at login or on the
re-authentication page."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.dashboard.factories import firewall_pair
from tests.factories import make_public_key_line
from tests.otp import PASSWORD, current_code, step_up, totp_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering_host(db):
    _c, host, _b = firewall_pair("fwr")
    host.offered_key_type, host.offered_key_base64 = make_public_key_line().split()[:2]
    host.save()
    return host


def approve(client, host):
    return client.post(
        reverse("hosts:host-key", args=[host.pk]),
        {"decision": "approve", "fingerprint": host.offered_key_fingerprint},
        HTTP_REFERER=f"http://testserver{reverse('hosts:host', args=[host.pk])}",
    )


def pinned(host) -> bool:
    host.refresh_from_db()
    return bool(host.host_key_base64)


def test_without_a_recent_reauth_approval_is_sent_to_confirm_and_pins_nothing(
    client, noc_user, offering_host
):
    client.force_login(noc_user)

    response = approve(client, offering_host)

    assert response.status_code == 302
    assert response.url.startswith(reverse("reauth"))
    assert "next=http%3A%2F%2Ftestserver%2Fhosts%2Fhost%2F" in response.url
    assert not pinned(offering_host)


def test_after_confirming_password_and_code_approval_goes_through(client, noc_user, offering_host):
    client.force_login(noc_user)
    step_up(client, noc_user)

    approve(client, offering_host)

    assert pinned(offering_host)


def test_the_confirmation_expires_after_the_window(client, noc_user, offering_host, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(noc_user)
        step_up(client, noc_user)
        traveller.shift(timedelta(minutes=settings.NYIOPS_REAUTH_MINUTES, seconds=1))

        response = approve(client, offering_host)

    assert response.url.startswith(reverse("reauth"))
    assert not pinned(offering_host)


@pytest.mark.parametrize("bad", ["password", "code"])
def test_a_wrong_password_or_code_does_not_confirm(client, noc_user, offering_host, bad):
    client.force_login(noc_user)
    device = totp_device(noc_user)
    code = current_code(device)
    data = {
        "password": "wrong password" if bad == "password" else PASSWORD,
        "token": f"{(int(code) + 1) % 1_000_000:06d}" if bad == "code" else code,
        "next": "/",
    }

    response = client.post(reverse("reauth"), data)
    approve(client, offering_host)

    assert response.status_code == 400
    assert not pinned(offering_host)


def test_a_fresh_login_with_password_and_code_counts_as_recent(client, noc_user, offering_host):
    device = totp_device(noc_user)
    client.post(reverse("login"), {"username": noc_user.username, "password": PASSWORD})
    client.post(reverse("otp-verify"), {"token": current_code(device), "next": "/"})

    approve(client, offering_host)

    assert pinned(offering_host)


def test_the_window_is_configurable(client, noc_user, offering_host, settings):
    settings.NYIOPS_REAUTH_MINUTES = 5
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(noc_user)
        step_up(client, noc_user)
        traveller.shift(timedelta(minutes=6))

        approve(client, offering_host)

    assert not pinned(offering_host)
