"""Task deadlines that hold in the threads pool (RELIABILITY A7).

Celery's threads pool ignores soft and hard time limits: nothing interrupts a thread. So
each task carries its own deadline (its soft limit, set by `nyiops_task`), and every
database statement the task's thread issues checks it first: a task still working past its
soft limit fails at its next statement with `TaskDeadlineExceeded` (a SoftTimeLimitExceeded,
so code that cleans up after a soft limit also cleans up after this), and its transaction
rolls back whole. Together with a deadline on every SSH wait (hosts/ssh.py) and the worker's
`statement_timeout` on PostgreSQL (nyiops/celery.py), a task ends by
soft limit + one statement timeout, which the hard limit must exceed (tests check it).

Owns only the per-thread deadline; it must not decide what a task does when it runs out."""

import functools
import inspect
import threading
import time
from contextlib import contextmanager

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection

_state = threading.local()


class TaskDeadlineExceeded(SoftTimeLimitExceeded):
    """The task ran past its soft time limit; raised before its next database statement."""

    def __str__(self) -> str:  # billiard's base class prints its repr
        return str(self.args[0]) if self.args else "task ran past its soft time limit"


def remaining() -> float | None:
    """Seconds left for the current task, None outside a task."""
    current = getattr(_state, "deadline", None)
    return None if current is None else current[0] - time.monotonic()


# Transaction control runs whatever the deadline: stopping a task must roll its work back
# (a nested atomic block's ROLLBACK TO SAVEPOINT is a statement like any other).
_CLEAN_UP = ("ROLLBACK", "RELEASE SAVEPOINT")


def _check(execute, sql, params, many, context):
    current = getattr(_state, "deadline", None)
    if (
        current is not None
        and not getattr(_state, "overtime", False)
        and not sql.lstrip().upper().startswith(_CLEAN_UP)
    ):
        at, name, seconds = current
        if time.monotonic() > at:
            raise TaskDeadlineExceeded(f"{name} ran past its {seconds:g} s soft time limit")
    return execute(sql, params, many, context)


@contextmanager
def task_deadline(seconds: float, name: str):
    previous = getattr(_state, "deadline", None)
    _state.deadline = (time.monotonic() + seconds, name, seconds)
    try:
        with connection.execute_wrapper(_check):
            yield
    finally:
        _state.deadline = previous


@contextmanager
def overtime():
    """Let a task's clean-up statements through after its deadline (releasing a claim):
    each is still bounded by the statement timeout."""
    previous = getattr(_state, "overtime", False)
    _state.overtime = True
    try:
        yield
    finally:
        _state.overtime = previous


def with_deadline(func, seconds: float, name: str):
    """Wrap a task function so each run carries its deadline; the signature is kept so
    Celery still checks the arguments of a call."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        with task_deadline(seconds, name):
            return func(*args, **kwargs)

    run.__signature__ = inspect.signature(func)
    return run
