"""`manage.py rotate_keys`: re-encrypt every stored secret under the first NYIOPS_SECRET_KEYS key.

Rotation (docs/security.md): put the new key first in NYIOPS_SECRET_KEYS, keeping the old
ones after it; restart; run this; then drop the old keys. It finds the encrypted columns by
their field class (nyiops.crypto.EncryptedTextField) in every installed model, so a new
secret column is rotated without touching this command. Each column is rotated in one
transaction: a failure leaves it as it was, still readable with the old keys."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from nyiops import crypto


def encrypted_columns():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, crypto.EncryptedTextField):
                yield model, field


class Command(BaseCommand):
    help = "Re-encrypt every Fernet-encrypted column with the first key of NYIOPS_SECRET_KEYS."

    def handle(self, *args, **options):
        crypto.fernet()  # a bad key list fails here, before any row is read
        total = 0
        for model, field in encrypted_columns():
            label = f"{model._meta.label}.{field.name}"
            with transaction.atomic():
                rows = (
                    model._base_manager.select_for_update()
                    .exclude(**{f"{field.attname}__isnull": True})
                    .only("pk", field.attname)
                )
                count = 0
                for obj in rows.iterator(chunk_size=500):
                    # Read decrypts with whichever key works; the write encrypts with the
                    # first key (EncryptedTextField.get_prep_value).
                    plaintext = getattr(obj, field.attname)
                    model._base_manager.filter(pk=obj.pk).update(**{field.attname: plaintext})
                    count += 1
            total += count
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} secret(s) now under the first key"))
