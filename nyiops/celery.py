"""The Celery app. Configuration lives in settings (CELERY_* keys); routing lives here, next
to the queues, so a task's queue is visible where the worker's queues are declared."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

app = Celery("nyiops")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("poll", "operations", "notify")
app.conf.task_queues = tuple(Queue(name) for name in QUEUES)
# Every task is routed by name; tests/test_conventions.py fails when a task has no route.
app.conf.task_routes = {
    "hosts.tasks.*": {"queue": "poll"},
    "operations.tasks.*": {"queue": "operations"},
    "alerts.tasks.*": {"queue": "notify"},
}
# Beat only runs sweepers; per-host poll due-times are a column on Host.
app.conf.beat_schedule = {
    "hosts-dispatch-due-polls": {
        "task": "hosts.tasks.dispatch_due_polls",
        "schedule": float(os.environ.get("NYIOPS_DISPATCH_INTERVAL", "2")),
    },
    "hosts-sweep-poll-health": {"task": "hosts.tasks.sweep_poll_health", "schedule": 30.0},
    "hosts-prune-history": {"task": "hosts.tasks.prune_history", "schedule": 3600.0},
    "alerts-sync-all": {"task": "alerts.tasks.sync_all_alerts", "schedule": 30.0},
    "alerts-escalate-due": {"task": "alerts.tasks.escalate_due_alerts", "schedule": 15.0},
    "alerts-release-silenced": {"task": "alerts.tasks.release_silenced_alerts", "schedule": 15.0},
    "alerts-audit-escalations": {"task": "alerts.tasks.audit_escalations", "schedule": 60.0},
    "alerts-publish-events": {"task": "alerts.tasks.publish_events", "schedule": 5.0},
}

app.autodiscover_tasks()
