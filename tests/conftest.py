"""Project-wide test setup: fast hashing, no real mail, and the personas every view test uses.

Personas (Healthchecks style): `noc_user` runs the fleet, `oncall_user` handles alerts,
`customer_a_user` owns customer A's objects and `customer_b_user` is the outsider.

Staff must verify a second factor before any page (D7). `client.force_login(user)` here logs
in the way a person does after the verify page: a user the 2FA policy covers gets a known
authenticator and a verified session. Tests of the requirement itself use
`unverified_login(client, user)`, which logs in with the password step only.

Under pytest-xdist (`make test` runs two workers) each worker has its own test database
(pytest-django) and, set up here, its own Redis database: the worker tests start real Celery
workers that consume the broker's queues, and one xdist worker's Celery worker must never take
the other's tasks (their rows live in the other test database)."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client

from customers.twofactor import requires_two_factor
from nyiops.roles import CUSTOMER, NOC, ONCALL, ensure_role_groups
from tests.factories import CustomerFactory, MembershipFactory, UserFactory
from tests.otp import verify_session

_password_step_only = Client.force_login


def per_worker_redis_url(url: str, worker: str) -> str:
    """`redis://host:port/N` for xdist worker `gwK` -> `redis://host:port/N+K` (the bare
    URL is database 0). With REDIS_URL=.../0, CI's two workers use databases 0 and 1."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + int(worker.removeprefix('gw'))}"))


def _isolate_xdist_worker() -> None:
    # Django's settings are loaded before any conftest (pytest-django reads them while pytest
    # loads the initial conftests), so the broker is moved here, before any test has touched
    # the Celery app's configuration; the processes the tests start inherit it from settings.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not settings.REDIS_URL:
        return
    url = per_worker_redis_url(settings.REDIS_URL, worker)
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    os.environ["REDIS_URL"] = url  # for the processes that copy this environment
    from nyiops.celery import app

    app.conf.broker_url = url


_isolate_xdist_worker()


def unverified_login(client, user, backend=None):
    """Log in without the second factor: only the password step has happened."""
    _password_step_only(client, user, backend)


def _login_as_after_verifying(client, user, backend=None):
    _password_step_only(client, user, backend)
    if requires_two_factor(user):
        verify_session(client, user)


@pytest.fixture(autouse=True)
def _verified_personas(monkeypatch):
    monkeypatch.setattr(Client, "force_login", _login_as_after_verifying)


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache():
    # Each test's database starts again from generation 0: entries cached under it by an
    # earlier test would describe that test's fleet.
    from django.core.cache import cache

    from hosts.dashboard import cache as dashboard_cache

    cache.clear()
    dashboard_cache.clear()


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = False


def _user_in(group_name, **kwargs):
    ensure_role_groups()
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def noc_user(db):
    return _user_in(NOC, username="nora-noc", is_staff=True)


@pytest.fixture
def oncall_user(db):
    return _user_in(ONCALL, username="oscar-oncall")


@pytest.fixture
def customer_a(db):
    return CustomerFactory(slug="customer-a", name="Customer A")


@pytest.fixture
def customer_b(db):
    return CustomerFactory(slug="customer-b", name="Customer B")


@pytest.fixture
def customer_a_user(customer_a):
    user = _user_in(CUSTOMER, username="alice-a")
    MembershipFactory(user=user, customer=customer_a)
    return user


@pytest.fixture
def customer_b_user(customer_b):
    user = _user_in(CUSTOMER, username="charlie-b")
    MembershipFactory(user=user, customer=customer_b)
    return user
