"""`nyiops_task`: the one way to declare a Celery task in this project.

It makes every task say its queue, soft and hard time limits and retry policy up front
(CONVENTIONS.md convention 9); tests/test_conventions.py checks every registered task. The
soft limit is also the task's own deadline (nyiops/deadline.py), because the production
worker's threads pool enforces no Celery time limit."""

from dataclasses import dataclass

from celery import shared_task

from nyiops.deadline import with_deadline


@dataclass(frozen=True)
class Retry:
    """Bounded retries for transient errors only; `on` lists the exception types."""

    on: tuple[type[BaseException], ...]
    max_retries: int = 5
    backoff: int = 2
    backoff_max: int = 300


NO_RETRY = None


def nyiops_task(*, queue: str, soft_time_limit: float, time_limit: float, retry: Retry | None):
    if soft_time_limit >= time_limit:
        raise ValueError("soft_time_limit must be below time_limit")
    options = {
        "soft_time_limit": soft_time_limit,
        "time_limit": time_limit,
        "acks_late": True,
        "ignore_result": True,
    }
    if retry is None:
        options["max_retries"] = 0
    else:
        options |= {
            "autoretry_for": retry.on,
            "max_retries": retry.max_retries,
            "retry_backoff": retry.backoff,
            "retry_backoff_max": retry.backoff_max,
            "retry_jitter": True,
        }

    def decorate(func):
        name = f"{func.__module__}.{func.__name__}"
        # The threads pool enforces neither limit: the task's own deadline does (A7).
        task = shared_task(name=name, **options)(with_deadline(func, soft_time_limit, name))
        # Routing itself is task_routes' job (Celery 6 drops the `queue` attribute); the
        # declared queue is kept so the convention test can check the route agrees.
        task.nyiops_queue = queue
        task.nyiops_retry = retry
        return task

    return decorate
