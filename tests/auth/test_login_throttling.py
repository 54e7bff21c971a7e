"""Login throttling (RELIABILITY.md D6): five wrong passwords lock that username from that
address for the cool-off; nobody else is locked with it; success resets; the admin unlocks;
every failure and lockout is logged."""

import logging
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.otp import PASSWORD

pytestmark = pytest.mark.django_db
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


@pytest.fixture
def victim(db):
    return UserFactory(username="victim")


def log_in(client, username, password=PASSWORD, ip=ATTACKER):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def fail(client, username, times, ip=ATTACKER):
    for _ in range(times):
        response = log_in(client, username, "wrong password", ip=ip)
        assert not logged_in(response)


def test_five_wrong_passwords_lock_out_even_the_right_one(client, victim):
    fail(client, "victim", 5)

    response = log_in(client, "victim")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many failed logins" in response.content.decode()


def test_thirty_guesses_do_not_end_in_a_login(client, victim):
    fail(client, "victim", 30)

    assert not logged_in(log_in(client, "victim"))


def test_four_wrong_passwords_do_not_lock(client, victim):
    fail(client, "victim", 4)

    assert logged_in(log_in(client, "victim"))


def test_other_usernames_from_the_same_address_still_log_in(client, victim):
    UserFactory(username="colleague")
    fail(client, "victim", 5)

    assert logged_in(log_in(client, "colleague"))


def test_the_same_username_from_another_address_still_logs_in(client, victim):
    fail(client, "victim", 5)

    assert logged_in(log_in(client, "victim", ip=ELSEWHERE))


def test_a_success_resets_the_count(client, victim):
    fail(client, "victim", 4)
    assert logged_in(log_in(client, "victim"))
    client.logout()

    fail(client, "victim", 4)

    assert logged_in(log_in(client, "victim"))


def test_the_lock_ends_after_the_cool_off(client, victim, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        fail(client, "victim", 5)
        traveller.shift(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
        assert log_in(client, "victim").status_code == 429

        traveller.shift(timedelta(minutes=16))

        assert logged_in(log_in(client, "victim"))


def test_an_admin_unlocks_a_locked_user(client, victim):
    fail(client, "victim", 5)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    attempt = AccessAttempt.objects.get(username="victim", ip_address=ATTACKER)
    client.force_login(admin)

    response = client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )
    client.logout()

    assert response.status_code == 302
    assert logged_in(log_in(client, "victim"))


def test_failures_and_the_lockout_are_logged(client, victim, caplog):
    with caplog.at_level(logging.INFO, logger="nyiops.security"):
        fail(client, "victim", 5)

    messages = [r.getMessage() for r in caplog.records if r.name == "nyiops.security"]
    assert sum("login failed user=victim ip=203.0.113.7" in m for m in messages) == 5
    assert any("login locked out user=victim ip=203.0.113.7" in m for m in messages)


def test_a_forged_forwarded_for_header_does_not_change_the_counted_address(client, victim):
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": "victim", "password": "wrong"},
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )

    assert log_in(client, "victim").status_code == 429


def test_behind_one_trusted_proxy_the_address_it_saw_is_counted(client, victim, settings):
    settings.NYIOPS_TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": "victim", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}",  # forged, then what the proxy saw
        )

    locked = client.post(
        reverse("login"),
        {"username": "victim", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=ATTACKER,
    )
    other_client = client.post(
        reverse("login"),
        {"username": "victim", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=ELSEWHERE,
    )

    assert locked.status_code == 429
    assert logged_in(other_client)
