"""The Celery app. Configuration lives in settings (CELERY_* keys); routing lives here, next
to the queues, so a task's queue is visible where the worker's queues are declared."""

import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import time

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_init, worker_ready
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nyiops.settings")

app = Celery("nyiops")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("poll", "operations", "notify")


def poll_shard_queue(number: int) -> str:
    """The queue of one poll shard (host affinity, hosts.polling.shards): consumed by the
    one worker process holding that shard, chosen at its start, never named with -Q."""
    return f"poll-shard-{number}"


POLL_SHARD_QUEUES = tuple(poll_shard_queue(n) for n in range(settings.NYIOPS_POLL_SHARDS))
app.conf.task_queues = tuple(Queue(name) for name in QUEUES + POLL_SHARD_QUEUES)
# Every task is routed by name; tests/test_conventions.py fails when a task has no route.
app.conf.task_routes = {
    "hosts.tasks.*": {"queue": "poll"},
    "operations.tasks.*": {"queue": "operations"},
    "alerts.tasks.*": {"queue": "notify"},
    "portal.tasks.*": {"queue": "notify"},
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
    "alerts-repage-expired-acks": {"task": "alerts.tasks.repage_expired_acks", "schedule": 15.0},
    "alerts-release-silenced": {"task": "alerts.tasks.release_silenced_alerts", "schedule": 15.0},
    "portal-sync-provisioning": {"task": "portal.tasks.sync_provisioning", "schedule": 2.0},
    "portal-incident-notices": {
        "task": "portal.tasks.sweep_incident_notices",
        "schedule": 30.0,
    },
    "alerts-audit-escalations": {"task": "alerts.tasks.audit_escalations", "schedule": 60.0},
    "operations-sweep": {"task": "operations.tasks.sweep_operations", "schedule": 30.0},
    "alerts-publish-events": {"task": "alerts.tasks.publish_events", "schedule": 5.0},
}
_CANARY_INTERVAL = float(os.environ.get("NYIOPS_CANARY_INTERVAL", "60"))
for _queue in QUEUES:
    app.conf.beat_schedule[f"worker-canary-{_queue}"] = {
        "task": "alerts.tasks.worker_canary",
        "schedule": _CANARY_INTERVAL,
        "args": (_queue,),
        "options": {"queue": _queue, "expires": _CANARY_INTERVAL},
    }

app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def filter_key_material(logger, **kwargs):
    """The worker replaces Django's logging with its own handlers (root and task loggers):
    put the key-material filter on each of them, so a traceback from a task that held a
    private key is scrubbed in the worker's log as it is in the web's."""
    from nyiops.logging import KeyMaterialFilter

    for handler in logger.handlers:
        if not any(isinstance(f, KeyMaterialFilter) for f in handler.filters):
            handler.addFilter(KeyMaterialFilter())


def limit_worker_statements(sender=None, connection=None, **kwargs):
    """On PostgreSQL, bound every statement of a worker's connection (RELIABILITY A7): the
    threads pool cannot interrupt a thread stuck in a query, the server can."""
    if connection is None or connection.vendor != "postgresql":
        return
    from django.conf import settings

    ms = int(settings.NYIOPS_WORKER_STATEMENT_TIMEOUT * 1000)
    with connection.cursor() as cursor:
        # set_config, not SET: SET takes no bind parameters.
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{ms}ms"])
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{ms}ms"])


@worker_init.connect
def _worker_statement_limits(**kwargs):
    from django.db.backends.signals import connection_created

    connection_created.connect(limit_worker_statements, dispatch_uid="nyiops-worker-limits")


_GC_PAUSE_LOGGED = 0.1  # seconds: a pause this long holds back every thread of the worker
_gc_started: dict[int, tuple[float, float]] = {}


def _time_collection(phase: str, info: dict) -> None:
    # Wall and CPU time of the collecting thread: a pause long in wall time but short in
    # CPU is the machine starving the process, not the collector's work.
    generation = info["generation"]
    if phase == "start":
        _gc_started[generation] = (time.perf_counter(), time.thread_time())
        return
    wall, cpu = _gc_started.pop(generation, (time.perf_counter(), time.thread_time()))
    took = time.perf_counter() - wall
    if took >= _GC_PAUSE_LOGGED:
        logging.getLogger("nyiops.gc").warning(
            "gc of generation %d took %.0f ms (%.0f ms CPU; %d collected)",
            generation,
            took * 1000,
            (time.thread_time() - cpu) * 1000,
            info["collected"],
        )


@worker_ready.connect
def _freeze_startup_objects(**kwargs):
    """A full collection walks every tracked object while holding the GIL, so every thread of
    the worker (the poll threads, the watcher, the consumer) waits for it. The objects made
    at start-up (Django, the apps, Celery) live as long as the process: move them out of the
    collector's sight once (gc.freeze), so a full collection walks only what polls made.
    Collections still taking 0.1 s or more are logged, to tell a GC pause from other stalls."""
    gc.collect()
    gc.freeze()
    if _time_collection not in gc.callbacks:
        gc.callbacks.append(_time_collection)


# glibc gives each thread that allocates its own malloc arena (up to 8 per core). A poll
# worker has a paramiko reader thread per connection: measured on a worker holding 500
# connections, 16 arenas held ~64 MB of its ~200 MB RSS, mostly freed-but-kept memory.
# Two arenas (as MALLOC_ARENA_MAX=2 would) and a trim of free memory once a minute.
M_ARENA_MAX = -8  # glibc's mallopt parameter number
WORKER_MALLOC_ARENAS = 2
MALLOC_TRIM_EVERY_S = 60.0


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def _trim_loop(libc) -> None:
    while True:
        time.sleep(MALLOC_TRIM_EVERY_S)
        libc.malloc_trim(0)  # ctypes releases the GIL for the call


@worker_init.connect
def _bound_malloc_arenas(**kwargs):
    """Before the pool's threads exist: cap the arenas they will get, and trim free memory
    back to the system once a minute (not glibc: nothing to do)."""
    libc = _glibc()
    if libc is None:
        return
    libc.mallopt(M_ARENA_MAX, WORKER_MALLOC_ARENAS)
    threading.Thread(target=_trim_loop, args=(libc,), name="malloc-trim", daemon=True).start()
