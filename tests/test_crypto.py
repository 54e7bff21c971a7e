"""Secrets at rest: encrypted with the first key, readable with any, rotatable."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from nyiops import crypto


def test_ciphertext_never_contains_the_plaintext(settings):
    token = crypto.encrypt("-----BEGIN OPENSSH PRIVATE KEY-----")

    assert "PRIVATE KEY" not in token
    assert crypto.decrypt(token) == "-----BEGIN OPENSSH PRIVATE KEY-----"


def test_old_key_still_decrypts_after_rotation(settings):
    old = Fernet.generate_key().decode()
    settings.NYIOPS_SECRET_KEYS = [old]
    token = crypto.encrypt("secret")
    new = Fernet.generate_key().decode()
    settings.NYIOPS_SECRET_KEYS = [new, old]

    assert crypto.decrypt(token) == "secret"
    rotated = crypto.rotate(token)
    settings.NYIOPS_SECRET_KEYS = [new]
    assert crypto.decrypt(rotated) == "secret"


def test_unknown_key_fails_with_a_clear_message(settings):
    settings.NYIOPS_SECRET_KEYS = [Fernet.generate_key().decode()]
    token = crypto.encrypt("secret")
    settings.NYIOPS_SECRET_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        crypto.decrypt(token)


def test_invalid_key_fails_with_a_clear_message(settings):
    settings.NYIOPS_SECRET_KEYS = ["not-a-fernet-key"]

    with pytest.raises(ImproperlyConfigured, match="invalid Fernet key"):
        crypto.encrypt("x")


def test_log_filter_drops_key_material(caplog):
    import logging

    from nyiops.logging import KeyMaterialFilter

    logger = logging.getLogger("nyiops.test")
    logger.addFilter(KeyMaterialFilter())
    with caplog.at_level(logging.INFO, logger="nyiops.test"):
        logger.info("loaded %s", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc")

    assert "PRIVATE KEY" not in caplog.text
    assert "dropped" in caplog.text
