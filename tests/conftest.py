"""Project-wide test setup: fast hashing, no real mail, and the personas every view test uses.

Personas (Healthchecks style): `noc_user` runs the fleet, `oncall_user` handles alerts,
`customer_a_user` owns customer A's objects and `customer_b_user` is the outsider."""

import pytest
from django.contrib.auth.models import Group

from nyiops.roles import CUSTOMER, NOC, ONCALL, ensure_role_groups
from tests.factories import CustomerFactory, MembershipFactory, UserFactory


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
