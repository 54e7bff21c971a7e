"""Settings from the environment: strict in production, self-sufficient in development."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def _manage(args, env_extra, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "NYIOPS_SECRET_KEYS",
            "DEBUG",
            "ALLOWED_HOSTS",
            "SECRET_KEY_FALLBACKS",
        }
    }
    env.update({"NYIOPS_VAR_DIR": str(tmp_path / "var")}, **env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def _production_env():
    return {
        "NYIOPS_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
        "NYIOPS_SECRET_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "nyiops.example.net",
    }


def test_check_deploy_is_clean_in_production(tmp_path):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], _production_env(), tmp_path)

    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "NYIOPS_SECRET_KEYS"])
def test_production_refuses_to_start_without_secrets(tmp_path, missing):
    env = _production_env()
    del env[missing]

    result = _manage(["check"], env, tmp_path)

    assert result.returncode != 0
    assert f"{missing} (or {missing}_FILE) must be set" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    env = _production_env()
    secret_file = tmp_path / "secret"
    secret_file.write_text(env.pop("SECRET_KEY"))
    env["SECRET_KEY_FILE"] = str(secret_file)

    assert _manage(["check"], env, tmp_path).returncode == 0


def test_development_generates_secrets_once_into_var(tmp_path):
    assert _manage(["check"], {}, tmp_path).returncode == 0
    key_file = tmp_path / "var" / "secret_key"
    first = key_file.read_text()

    assert _manage(["check"], {}, tmp_path).returncode == 0
    assert key_file.read_text() == first
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_sqlite_runs_in_wal_mode_without_database_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["NYIOPS_VAR_DIR"] = str(tmp_path / "var")
    code = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    env["DJANGO_SETTINGS_MODULE"] = "nyiops.settings"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == "wal"


def test_responses_carry_a_content_security_policy(client):
    response = client.get("/login/")

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_a_sqlite_database_url_gets_the_same_wal_options(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env["NYIOPS_VAR_DIR"] = str(tmp_path / "var")
    env["DJANGO_SETTINGS_MODULE"] = "nyiops.settings"
    code = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "wal"


@pytest.mark.parametrize("value", ["Ture", "yes please", "2", ""])
def test_a_boolean_that_is_not_clearly_true_or_false_stops_the_start_up(tmp_path, value):
    result = _manage(["check"], {"DEBUG": value}, tmp_path)

    assert result.returncode != 0
    assert "is not a boolean" in result.stderr


@pytest.mark.parametrize("value,expected", [("false", "False"), ("True", "True"), ("0", "False")])
def test_clear_booleans_are_read(tmp_path, value, expected):
    result = _manage(
        ["shell", "-c", "from django.conf import settings; print(settings.DEBUG)"],
        {"DEBUG": value},
        tmp_path,
    )

    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


def test_a_malformed_fernet_key_stops_the_start_up(tmp_path):
    env = _production_env()
    env["NYIOPS_SECRET_KEYS"] = f"{Fernet.generate_key().decode()},not-a-key"

    result = _manage(["check"], env, tmp_path)

    assert result.returncode != 0
    assert "NYIOPS_SECRET_KEYS key #2 is not a Fernet key" in result.stderr


def test_secret_key_fallbacks_come_from_the_environment(tmp_path):
    env = _production_env() | {"SECRET_KEY_FALLBACKS": "old-key-one,old-key-two"}

    result = _manage(
        ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"],
        env,
        tmp_path,
    )

    assert result.stdout.strip().splitlines()[-1] == "['old-key-one', 'old-key-two']"


def test_a_session_signed_with_the_previous_secret_key_still_verifies(settings):
    from django.core import signing

    settings.SECRET_KEY = "the-old-secret-key-" + "x" * 40
    token = signing.dumps({"user": 1})
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = (
        "the-new-key-" + "y" * 40,
        [settings.SECRET_KEY],
    )

    assert signing.loads(token) == {"user": 1}


def test_production_session_and_csrf_cookies_are_secure_httponly_and_lax(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, "
        "s.CSRF_COOKIE_SAMESITE, s.SESSION_COOKIE_AGE)"
    )

    result = _manage(["shell", "-c", code], _production_env(), tmp_path)

    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.split() == ["True", "True", "True", "Lax", "Lax", "43200"], result.stderr


@pytest.mark.parametrize(
    "cache_url,timeout",
    [("redis://127.0.0.1:6379/1", "0.5"), ("locmemcache://", "None"), (None, "None")],
)
def test_a_redis_cache_answers_within_half_a_second_or_not_at_all(
    tmp_path, monkeypatch, cache_url, timeout
):
    # A Redis that hangs must not hang the pages that read it (hosts.dashboard.cache then
    # computes the widget itself).
    monkeypatch.delenv("CACHE_URL", raising=False)  # the test run's own is not copied
    env = {} if cache_url is None else {"CACHE_URL": cache_url}
    code = (
        "from django.conf import settings; o = settings.CACHES['default'].get('OPTIONS', {}); "
        "print(o.get('socket_connect_timeout'), o.get('socket_timeout'))"
    )

    result = _manage(["shell", "-c", code], env, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [timeout, timeout]
