"""Structural rules the whole codebase keeps (CONVENTIONS.md §4, RELIABILITY.md A1/A8)."""

import ast
from pathlib import Path

import pytest
from django.core.management import call_command

from nyiops.celery import POLL_SHARD_QUEUES, QUEUES
from nyiops.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
PROJECT_APPS = ("hosts", "customers", "audit", "alerts", "operations", "portal", "nyiops")


def project_tasks():
    celery_app.loader.import_default_modules()
    return {
        name: task for name, task in celery_app.tasks.items() if name.split(".")[0] in PROJECT_APPS
    }


def test_celery_runs_with_the_reliability_settings():
    conf = celery_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result is True
    assert {q.name for q in conf.task_queues} == set(QUEUES) | set(POLL_SHARD_QUEUES)


def test_project_has_tasks_and_every_task_declares_queue_limits_and_retries():
    tasks = project_tasks()
    assert tasks, "no project task registered: autodiscovery is broken"
    for name, task in tasks.items():
        assert hasattr(task, "nyiops_retry"), f"{name} is not declared with nyiops_task"
        assert task.nyiops_queue in QUEUES, f"{name} has no known queue"
        route = celery_app.amqp.router.route({}, name)
        assert route["queue"].name == task.nyiops_queue, f"{name}: route and declared queue differ"
        assert task.soft_time_limit and task.time_limit, f"{name} has no time limits"
        assert task.soft_time_limit < task.time_limit


def test_visibility_timeout_exceeds_every_task_limit_and_retry_delay():
    visibility = celery_app.conf.broker_transport_options["visibility_timeout"]
    for name, task in project_tasks().items():
        retry_max = task.nyiops_retry.backoff_max if task.nyiops_retry else 0
        assert task.time_limit + retry_max < visibility, name
        assert retry_max < visibility / 2, f"{name}: long waits must be DB timestamps"


@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("forbidden", ["django", "hosts", "customers", "audit", "nyiops"])
def test_fleetsim_imports_nothing_from_django_or_the_apps(forbidden):
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "fleetsim").rglob("*.py")
        if forbidden in _imports(p)
    ]
    assert offenders == []


def test_parsers_import_no_django():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "hosts" / "freebsd").rglob("*.py")
        if {"django", "paramiko"} & _imports(p)
    ]
    assert offenders == []


def test_models_never_import_upward():
    """audit <- customers <- hosts <- {alerts, operations}: a models module of a lower app
    never imports a higher one."""
    order = ["audit", "customers", "hosts", "alerts", "operations"]
    for i, app in enumerate(order):
        higher = set(order[i + 1 :])
        for path in list((ROOT / app).glob("models.py")) + list((ROOT / app).glob("models/*.py")):
            assert not (_imports(path) & higher), f"{path} imports a higher app"
