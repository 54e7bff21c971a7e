"""`manage.py rotate_keys` re-encrypts every secret column (SSH private keys, webhook secrets)
under the first key of NYIOPS_SECRET_KEYS, after which the old key can be dropped."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from alerts.models import NotificationChannel
from hosts.models import SSHCredential
from nyiops.management.commands.rotate_keys import encrypted_columns
from tests.factories import SSHCredentialFactory, make_private_key

pytestmark = pytest.mark.django_db


def raw(model, field, pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {field} FROM {model._meta.db_table} WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()[0]


def test_every_secret_column_is_found():
    found = {f"{m._meta.label}.{f.name}" for m, f in encrypted_columns()}

    assert {"hosts.SSHCredential.private_key", "alerts.NotificationChannel.secret"} <= found


def test_rotation_rewrites_every_secret_under_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.NYIOPS_SECRET_KEYS = [old]
    key = make_private_key()
    credential = SSHCredentialFactory(private_key=key)
    channel = NotificationChannel.objects.create(
        name="team hook", kind="webhook", url="https://hooks.example/x", secret="hmac-secret"
    )
    empty = NotificationChannel.objects.create(name="mail", kind="email", email="a@b.example")
    before = raw(SSHCredential, "private_key", credential.pk)

    settings.NYIOPS_SECRET_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    settings.NYIOPS_SECRET_KEYS = [new]  # the old key is gone

    assert raw(SSHCredential, "private_key", credential.pk) != before
    assert SSHCredential.objects.get(pk=credential.pk).private_key == key
    assert NotificationChannel.objects.get(pk=channel.pk).secret == "hmac-secret"
    assert NotificationChannel.objects.get(pk=empty.pk).secret is None
    assert "hosts.SSHCredential.private_key: 1 re-encrypted" in out.getvalue()
