"""Session handling at login and logout (RELIABILITY.md D8); lifetimes are in
tests/test_idle_timeout.py."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.otp import PASSWORD, current_code, totp_device

pytestmark = pytest.mark.django_db


def log_in(client, user):
    device = totp_device(user)
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    client.post(reverse("otp-verify"), {"token": current_code(device), "next": "/"})


def test_login_issues_a_new_session_key(client, noc_user):
    before = client.session.session_key  # a session planted before login (fixation)

    log_in(client, noc_user)

    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before


def test_logout_invalidates_the_session_server_side(client, noc_user):
    log_in(client, noc_user)
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/hosts/").status_code == 200

    client.post(reverse("logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen

    response = replay.get("/hosts/")
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_an_expired_session_lets_nobody_in_and_starts_afresh(client, noc_user):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    log_in(client, noc_user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/hosts/").status_code == 200
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )

    response = client.get("/hosts/")

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_session_reads_back_what_was_stored_in_it(client, noc_user):
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["watching"] = {"widgets": ["firewalls", "storage"], "since": 1733260000}
    store.save()

    again = import_module(settings.SESSION_ENGINE).SessionStore(store.session_key)

    assert again["watching"] == {"widgets": ["firewalls", "storage"], "since": 1733260000}
    assert again.session_key == store.session_key
    assert import_module(settings.SESSION_ENGINE).SessionStore("no-such-session").load() == {}
