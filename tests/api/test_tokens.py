"""API tokens: shown once, stored hashed, expiring, revocable, read-only when asked."""

import datetime as dt
import hashlib
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import check_token, create_token, revoke_token
from audit.models import AuditRecord
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def test_token_is_stored_as_a_prefix_and_a_sha256_never_in_clear(noc_user):
    token, secret = create_token(noc_user, name="grafana")

    _nyi, prefix, raw = secret.split("_", 2)
    assert token.prefix == prefix
    assert token.secret_sha256 == hashlib.sha256(raw.encode()).hexdigest()
    stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert raw not in stored
    assert AuditRecord.objects.filter(action="api.token.create", actor=noc_user).exists()


def test_request_with_a_valid_token_runs_as_its_user(noc_api):
    response = noc_api.get("/api/hosts/")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "header, reason",
    [
        ("Bearer nyi_0000000_short", "malformed token"),
        ("Bearer nyi_deadbeef_" + "x" * 43, "invalid token"),
        ("Bearer", "Authorization header"),
    ],
)
def test_bad_tokens_get_401_with_the_reason(db, header, reason):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/hosts/")

    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_gets_401(db):
    assert APIClient().get("/api/hosts/").status_code == 401


def test_expired_token_is_refused(noc_user, time_machine):
    client = client_for(noc_user, expires_in_days=1)
    time_machine.move_to(timezone.now() + dt.timedelta(days=1, seconds=1))

    response = client.get("/api/hosts/")

    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


def test_revoked_token_is_refused_at_once(noc_user):
    client = client_for(noc_user)
    token = ApiToken.objects.get(user=noc_user)

    revoke_token(token, by=noc_user)
    response = client.get("/api/hosts/")

    assert response.status_code == 401
    assert response.json()["detail"] == "token revoked"
    assert AuditRecord.objects.filter(action="api.token.revoke").count() == 1


def test_read_only_token_reads_but_refuses_every_write(noc_user, fleet):
    client = client_for(noc_user, read_only=True)
    host = fleet["a"]["hosts"][0]

    assert client.get(f"/api/hosts/{host.pk}/").status_code == 200
    response = client.patch(f"/api/hosts/{host.pk}/", {"poll_interval": 30}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."
    host.refresh_from_db()
    assert host.poll_interval == 15


def test_token_of_an_inactive_user_is_refused(noc_user):
    _token, secret = create_token(noc_user, name="x")
    noc_user.is_active = False
    noc_user.save()

    with pytest.raises(Exception, match="user inactive"):
        check_token(secret)


def test_user_without_any_role_gets_403(db):
    from tests.factories import UserFactory

    client = client_for(UserFactory(username="nobody"))

    assert client.get("/api/hosts/").status_code == 403


def test_throttling_is_per_token(noc_user, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/minute"},
    }
    first, second = client_for(noc_user), client_for(noc_user)

    codes = [first.get("/api/sites/").status_code for _ in range(4)]
    other = second.get("/api/sites/").status_code
    cache.clear()

    assert codes == [200, 200, 200, 429]
    assert other == 200


def test_token_page_shows_the_secret_once_and_revokes(client, customer_a_user):
    client.force_login(customer_a_user)

    created = client.post(
        reverse("api-tokens"), {"name": "script", "expires_in_days": 30, "read_only": "on"}
    )
    token = ApiToken.objects.get(user=customer_a_user)
    secret = re.search(r"nyi_[0-9a-f]{8}_[A-Za-z0-9_-]+", created.content.decode()).group()

    assert created.status_code == 200
    assert check_token(secret) == token
    assert created["Cache-Control"] == "no-store"
    assert token.read_only
    listing = client.get(reverse("api-tokens")).content.decode()
    assert token.prefix in listing and secret not in listing
    client.post(reverse("api-token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_page_cannot_revoke_someone_elses_token(client, customer_a_user, customer_b_user):
    other, _secret = create_token(customer_b_user, name="theirs")
    client.force_login(customer_a_user)

    response = client.post(reverse("api-token-revoke", args=[other.pk]))

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_management_command_creates_lists_and_revokes(noc_user, capsys):
    call_command(
        "api_tokens",
        "create",
        "--user",
        noc_user.username,
        "--name",
        "ci",
        "--read-only",
        "--expires-days",
        "7",
    )
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    token = check_token(secret)
    assert token.read_only and token.name == "ci"

    call_command("api_tokens", "list", "--json")
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["prefix"] == token.prefix and "secret" not in json.dumps(listed)

    call_command("api_tokens", "revoke", token.prefix)
    token.refresh_from_db()
    assert token.status == "revoked"
