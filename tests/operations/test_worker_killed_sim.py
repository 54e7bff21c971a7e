"""RELIABILITY A3 with a real worker: a Celery worker running a CARP maintenance is SIGKILLed
while step 2 is on the wire; a new worker, handed the same task again, re-polls, finds step 1
done and step 2 safe to resend, and finishes. Nothing runs twice; the interruption is audited;
the locks are free at the end.

The worker subprocess shares this test's database and broker (tests/integration's Harness:
Redis when REDIS_URL is set, else kombu's filesystem transport)."""

import os
import signal
import subprocess
import sys
import uuid

import pytest
from django.utils import timezone

from audit.models import AuditRecord
from nyiops.celery import app as celery_app
from operations import services
from operations.models import Operation, OperationLock
from tests.integration.test_worker_killed import READY_TIMEOUT, REPO, Harness, wait_until

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]
LEASE = 3


class OperationsHarness(Harness):
    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.env["NYIOPS_OPERATION_LOCK_LEASE_SECONDS"] = str(LEASE)

    def start_worker(self) -> subprocess.Popen:
        n = len(self.workers) + 1
        log_path = self.tmp / f"ops-worker-{n}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "nyiops",
                    "worker",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "2",
                    "-Q",
                    "operations",
                    "-n",
                    f"opskill-{uuid.uuid4().hex[:8]}-{n}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "INFO",
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append((proc, log_path))
        self.wait_log(proc, " ready.", READY_TIMEOUT, "worker ready")
        return proc

    def send_run(self, op_id: int, task_id: str | None = None) -> str:
        sent = celery_app.send_task(
            "operations.tasks.run_operation",
            args=(op_id,),
            queue="operations",
            task_id=task_id,
            connection=self.broker,
        )
        self.sent.append(sent.id)
        return sent.id


def test_whole_worker_killed_mid_operation_resumes_without_running_a_step_twice(
    polled_fleet, nora, sam, tmp_path, monkeypatch
):
    monkeypatch.setattr(services, "_send", lambda pk: None)  # this test plays the broker
    op = services.request_operation("carp-maintenance", "fw-pair-1", {"node": "fw1a"}, by=nora)
    services.approve(op, by=sam)
    polled_fleet.inject("fw1a", "hang-command", "cat > /etc/sysctl.conf.local")
    harness = OperationsHarness(tmp_path)
    try:
        doomed = harness.start_worker()
        task = harness.send_run(op.pk)
        wait_until(
            lambda: (
                harness.no_task_raised()
                and Operation.objects.get(pk=op.pk)
                .steps.filter(key="persist", state="sending")
                .exists()
            ),
            30,
            "step 2 on the wire",
        )
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        polled_fleet.heal("fw1a", "hang-command")
        assert polled_fleet.state("fw1a")["sysctl"]["net.inet.carp.demotion"] == 240

        harness.start_worker()
        wait_until(
            lambda: Operation.objects.get(pk=op.pk).lease_until < timezone.now(),
            LEASE + 10,
            "the killed run's lease to run out",
            interval=0.2,
        )
        harness.send_run(op.pk, task_id=task)  # the broker's redelivery
        wait_until(
            lambda: (
                harness.no_task_raised()
                and Operation.objects.get(pk=op.pk).state not in ("running", "verifying")
            ),
            45,
            "the resumed run to end",
            interval=0.3,
        )
    except BaseException:
        harness.dump_logs()
        raise
    finally:
        harness.stop_all()

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert polled_fleet.state("fw1a")["sysctl"]["net.inet.carp.demotion"] == 240  # not 480
    assert "net.inet.carp.demotion=240" in str(
        polled_fleet.state("fw1a")["files"].get("/etc/sysctl.conf.local")
    )
    assert AuditRecord.objects.filter(action="operation.interrupted", target_id=str(op.pk)).exists()
    assert not OperationLock.objects.exists()
