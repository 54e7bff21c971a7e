"""Sessions end after 30 idle minutes; background widget refreshes do not count as activity
(RELIABILITY.md D8), except for wall screens."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from nyiops.roles import WALLBOARD

pytestmark = pytest.mark.django_db
POLL = {"HTTP_X_NYIOPS_POLL": "1", "HTTP_HX_REQUEST": "true"}


def page(client):
    return client.get(reverse("hosts:inventory"))


def test_activity_within_the_timeout_keeps_the_session(client, noc_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(noc_user)
        assert page(client).status_code == 200
        for _ in range(3):
            traveller.shift(timedelta(minutes=20))
            assert page(client).status_code == 200


def test_idle_session_is_logged_out_and_sent_to_login(client, noc_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(noc_user)
        page(client)
        traveller.shift(timedelta(minutes=31))

        response = page(client)

        assert response.status_code == 302 and response.url.startswith(reverse("login"))
        assert "_auth_user_id" not in client.session  # flushed server-side
        assert page(client).status_code == 302


def test_widget_polling_does_not_keep_an_unattended_tab_alive(client, noc_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(noc_user)
        page(client)
        for _ in range(5):  # the tab polls every 5 minutes for 25 minutes
            traveller.shift(timedelta(minutes=5))
            assert page_poll(client).status_code in (200, 204, 302)
        traveller.shift(timedelta(minutes=6))

        assert page_poll(client).status_code == 401


def page_poll(client):
    return client.get(reverse("hosts:inventory"), **POLL)


def test_a_wallboard_screen_is_not_logged_out(client, noc_user):
    noc_user.groups.add(Group.objects.get(name=WALLBOARD))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(noc_user)
        page(client)
        traveller.shift(timedelta(hours=3))

        assert page_poll(client).status_code != 401
        assert page(client).status_code == 200
