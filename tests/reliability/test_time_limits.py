"""RELIABILITY A7: every task ends by its time limit although the production worker's threads
pool enforces none, and a host's poll lease outlasts the worst poll.

How it holds: every SSH wait has a deadline (hosts/ssh.py, worst case computed by
`worst_case_seconds`); every database statement of a worker has a server-side timeout on
PostgreSQL; a task's own deadline (its soft limit) stops it at its next statement. No test
here measures time: the bounds are arithmetic over the settings, and the behaviour tests
check what happens once a deadline has passed."""

import datetime as dt
import importlib
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

import hosts.polling.run
import hosts.tasks
from hosts.models import Host, PollRun
from hosts.ssh import SSHTarget, worst_case_seconds
from nyiops.celery import limit_worker_statements
from nyiops.deadline import TaskDeadlineExceeded, remaining, task_deadline
from nyiops.tasks import NO_RETRY, nyiops_task
from tests.factories import HostFactory
from tests.test_conventions import project_tasks

DEFAULTS = importlib.import_module("nyiops.settings")  # what a deployment starts with
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's"
)


def target_with(timeouts: dict) -> SSHTarget:
    return SSHTarget(
        name="h",
        address="127.0.0.1",
        port=22,
        username="nyiops",
        private_key="",
        pinned_key=None,
        connect_timeout=timeouts["connect"],
        banner_timeout=timeouts["banner"],
        auth_timeout=timeouts["auth"],
        command_timeout=timeouts["command"],
    )


# --- the arithmetic --------------------------------------------------------------------


def test_ssh_worst_case_counts_a_failed_reuse_then_a_full_reconnect():
    timeouts = {"connect": 5, "banner": 10, "auth": 10, "command": 15}

    # channel 10 (reuse fails) + 5 + 10 + 10 (reconnect) + 10 + 10 (open, exec) + 1 close
    assert worst_case_seconds(target_with(timeouts)) == 56


def test_poll_fits_its_soft_limit_and_its_lease_outlasts_the_hard_limit():
    ssh = worst_case_seconds(target_with(DEFAULTS.NYIOPS_SSH_TIMEOUTS))
    task = hosts.tasks.poll_host

    assert ssh + hosts.polling.run.POLL_STORE_BUDGET_SECONDS <= task.soft_time_limit
    # Past its deadline a poll finishes at most the statement it is in.
    assert task.soft_time_limit + DEFAULTS.NYIOPS_WORKER_STATEMENT_TIMEOUT <= task.time_limit
    assert task.time_limit < DEFAULTS.NYIOPS_POLL_LEASE_SECONDS


def test_every_task_ends_by_its_hard_limit_at_the_latest():
    statement = DEFAULTS.NYIOPS_WORKER_STATEMENT_TIMEOUT
    for name, task in project_tasks().items():
        assert task.soft_time_limit + statement <= task.time_limit, name


def test_external_waits_of_notifications_fit_their_task():
    from alerts.channels import webhook
    from alerts.tasks import send_notification

    for wait in (webhook.TIMEOUT_SECONDS * webhook.TOTAL_FACTOR, DEFAULTS.EMAIL_TOTAL_TIMEOUT):
        assert wait + DEFAULTS.NYIOPS_WORKER_STATEMENT_TIMEOUT < send_notification.soft_time_limit


# --- the task deadline -------------------------------------------------------------------


@nyiops_task(queue="poll", soft_time_limit=0.2, time_limit=1, retry=NO_RETRY)
def writes_until_stopped(host_id: int) -> str:
    """A task that ignores its soft limit: keeps writing in one transaction."""
    with transaction.atomic():
        for i in range(200):  # bounded: ~10 s if nothing stopped it
            Host.objects.filter(pk=host_id).update(poll_interval=1000 + i)
            time.sleep(0.05)
    return "finished"


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker
def test_task_past_its_soft_limit_is_stopped_at_its_next_statement_and_rolls_back():
    host = HostFactory(poll_interval=15)

    with pytest.raises(TaskDeadlineExceeded, match=r"ran past its 0\.2 s soft time limit"):
        writes_until_stopped(host.pk)

    host.refresh_from_db()
    assert host.poll_interval == 15  # nothing half-written
    assert remaining() is None  # the deadline left with the task


@pytest.mark.django_db
def test_a_deadline_is_per_thread_and_restored_after_a_nested_one():
    with task_deadline(60, "outer"):
        with task_deadline(0, "inner"):
            time.sleep(0.01)
            with pytest.raises(TaskDeadlineExceeded):
                Host.objects.count()
        assert Host.objects.count() == 0 and remaining() > 0


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker
def test_poll_stopped_by_its_deadline_records_timed_out_and_releases_the_claim(monkeypatch):
    host = HostFactory(poll_claim="claim-1", poll_claimed_until=timezone.now())

    def slow_poll(host, *, claim):
        time.sleep(0.15)  # SSH took all the time there was
        Host.objects.filter(pk=host.pk).update(reachability="ok")  # the store begins
        raise AssertionError("the deadline should have stopped the store")

    monkeypatch.setattr(hosts.polling.run, "poll_host", slow_poll)
    with pytest.raises(TaskDeadlineExceeded), task_deadline(0.1, "hosts.tasks.poll_host"):
        hosts.tasks.poll_host.run.__wrapped__(host.pk, "claim-1")

    host.refresh_from_db()
    run = PollRun.objects.get(host=host)
    assert host.poll_claimed_until is None  # polled again at its next due time
    assert run.status == PollRun.Status.TIMED_OUT
    assert run.error == "poll stopped: hosts.tasks.poll_host ran past its 0.1 s soft time limit"


# --- PostgreSQL statement timeout for workers ---------------------------------------------


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_worker_connection_cancels_a_slow_query_at_its_statement_timeout(settings):
    settings.NYIOPS_WORKER_STATEMENT_TIMEOUT = 0.2
    connection.ensure_connection()
    limit_worker_statements(connection=connection)
    try:
        with pytest.raises(OperationalError, match="statement timeout"), connection.cursor() as c:
            c.execute("SELECT pg_sleep(30)")
    finally:
        connection.close()  # the next test gets a connection with the web's settings


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_web_connections_carry_the_web_statement_timeout():
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (value,) = cursor.fetchone()

    assert value == f"{int(settings.NYIOPS_WEB_STATEMENT_TIMEOUT)}s"


def test_statement_limits_leave_sqlite_alone():
    class FakeSqlite:
        vendor = "sqlite"

        def cursor(self):
            raise AssertionError("no statement must be sent")

    limit_worker_statements(connection=FakeSqlite())


@pytest.mark.django_db(transaction=True)  # each batch commits, as in a worker
def test_pruning_commits_in_batches_and_stops_before_its_deadline():
    """A backlog bigger than one run can delete shrinks run by run instead of rolling back
    whole at the deadline every hour."""
    from hosts.models import MetricSample

    host = HostFactory()
    old = timezone.now() - dt.timedelta(days=400)
    MetricSample.objects.bulk_create(
        MetricSample(host=host, metric="pf_states", at=old, value=i) for i in range(7)
    )
    backlog = MetricSample.objects.filter(at__lt=timezone.now())

    with task_deadline(hosts.tasks.PRUNE_MARGIN_SECONDS - 1, "hosts.tasks.prune_history"):
        first = hosts.tasks.delete_in_batches(backlog, batch=3)
    second = hosts.tasks.delete_in_batches(backlog, batch=3)

    assert (first, second) == (3, 4)
    assert not backlog.exists()
