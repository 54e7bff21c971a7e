"""RELIABILITY A6, in-process half: what the web answers while the database is unreachable.

The outage itself (a proxy in front of PostgreSQL dropping every connection for 10 s) is
tests/reliability/test_outages.py; here the database error is raised where each layer meets
it, on any database backend."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

pytestmark = pytest.mark.django_db

REFUSED = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: refused'


@pytest.fixture
def database_down(monkeypatch):
    """Every new cursor fails as psycopg does when the server refuses connections."""

    def refuse(self, *args, **kwargs):
        raise OperationalError(REFUSED)

    def down():
        monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)
        monkeypatch.setattr(SessionStore, "load", lambda self: refuse(None))

    return down


def assert_clean_503(response):
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "temporarily unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body and "5432" not in body


@pytest.mark.parametrize("debug", [False, True])
def test_page_answers_a_clean_503_when_its_view_meets_a_database_error(
    noc_user, database_down, settings, debug
):
    settings.DEBUG = debug  # DEBUG would otherwise show Django's technical page
    client = Client(raise_request_exception=False)
    client.force_login(noc_user)
    database_down()

    assert_clean_503(client.get("/alerts/"))


def test_page_answers_a_clean_503_when_the_session_cannot_be_loaded(noc_user, database_down):
    client = Client(raise_request_exception=False)
    client.force_login(noc_user)
    database_down()  # the session middleware meets the error before any view runs

    assert_clean_503(client.get("/hosts/"))


def test_interface_error_is_an_outage_too(noc_user, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(noc_user)

    def closed(self, *args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", closed)

    assert_clean_503(client.get("/alerts/"))


def test_other_errors_still_answer_500_without_a_traceback(noc_user, monkeypatch):
    from alerts import views

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "AlertFilterForm", boom)
    client = Client(raise_request_exception=False)
    client.force_login(noc_user)

    response = client.get("/alerts/")

    assert response.status_code == 500
    assert "Traceback" not in response.content.decode()


def test_healthz_says_why_the_database_is_unreachable(client, database_down):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    database_down()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": f"unreachable: {REFUSED}"}


def test_worker_health_says_the_database_is_unreachable(client, database_down):
    database_down()

    response = client.get("/healthz/worker")

    assert response.status_code == 503
    assert response.json()["database"].startswith("unreachable: connection failed")
