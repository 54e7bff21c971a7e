"""docker-compose.yml cannot run here (no Docker engine): read it instead."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = compose()["services"]

    assert {"postgres", "redis", "web", "worker", "beat", "fleetsim"} <= set(services)


def test_worker_consumes_every_queue_with_a_thread_pool():
    command = compose()["services"]["worker"]["command"]

    assert command[command.index("-Q") + 1].split(",") == ["poll", "operations", "notify"]
    assert command[command.index("--pool") + 1] == "threads"


def test_app_services_get_database_redis_and_secrets_from_the_environment():
    for name in ("web", "worker", "beat", "migrate"):
        env = compose()["services"][name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["NYIOPS_ENV"] == "production"
        assert "SECRET_KEY" in env and "NYIOPS_SECRET_KEYS" in env


def test_redis_never_evicts_broker_messages():
    command = compose()["services"]["redis"]["command"]

    assert "noeviction" in command and "yes" in command


def test_dockerfile_installs_from_the_hashed_lock_file():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "--require-hashes -r requirements.lock" in dockerfile
    assert "gunicorn" in dockerfile
