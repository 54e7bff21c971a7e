"""The suite runs on pytest-xdist workers (`make test`): what each worker must have of its own
besides its test database, which pytest-django gives it."""

import os

from django.conf import settings

from tests.conftest import per_worker_redis_url


def test_each_xdist_worker_gets_its_own_redis_database_counted_from_the_configured_one():
    assert per_worker_redis_url("redis://127.0.0.1:6379/0", "gw0") == "redis://127.0.0.1:6379/0"
    assert per_worker_redis_url("redis://127.0.0.1:6379/0", "gw1") == "redis://127.0.0.1:6379/1"
    assert per_worker_redis_url("redis://127.0.0.1:6379/3", "gw1") == "redis://127.0.0.1:6379/4"


def test_a_redis_url_without_a_database_means_database_zero_and_keeps_its_credentials():
    assert per_worker_redis_url("redis://127.0.0.1:6379", "gw1") == "redis://127.0.0.1:6379/1"
    assert (
        per_worker_redis_url("redis://:secret@redis.example:6380/2", "gw2")
        == "redis://:secret@redis.example:6380/4"
    )


def test_the_broker_and_child_processes_use_this_workers_redis_database():
    from nyiops.celery import app

    if settings.REDIS_URL:
        assert app.conf.broker_url == settings.CELERY_BROKER_URL == settings.REDIS_URL
        assert os.environ["REDIS_URL"] == settings.REDIS_URL
