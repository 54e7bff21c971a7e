"""Disk replacement, clone from a mirror and back up now against the simulated fleet."""

import threading
import time

import pytest
import yaml
from django.core.management import call_command
from django.db import connection

from fleetsim.testing import running_fleet
from hosts.models import BackupRun, Mirror, ZPool
from operations import engine, services
from tests.integration.conftest import DEMO_SPEC, poll, poll_all, stop_polling

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(services, "_send", lambda pk: None)


def run_while_time_passes(fleet, op_pk, seconds):
    """Run the operation while the simulated fleet's clock moves `seconds` ahead."""
    done = threading.Event()

    def worker():
        try:
            engine.run(op_pk)
        finally:
            connection.close()
            done.set()

    t = threading.Thread(target=worker)
    t.start()
    while not done.is_set():
        fleet.advance(seconds / 20)
        time.sleep(0.2)
    t.join(60)


def test_replacing_a_failed_gmirror_disk_rebuilds_to_complete(polled_fleet, nora):
    polled_fleet.inject("nas1", "disk-fail", "ada1")
    poll("nas1")
    assert Mirror.objects.get(host__name="nas1", name="swap").state == "DEGRADED"

    op = services.request_operation(
        "disk-replace", "nas1", {"mirror": "swap", "new": "da0p3"}, by=nora
    )
    services.approve(op, by=nora)
    run_while_time_passes(polled_fleet, op.pk, 3600)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert "swap COMPLETE, da0p3 ACTIVE" in op.result
    assert [s.script for s in op.steps.order_by("position")] == [
        "gmirror forget swap",
        "gmirror insert swap da0p3",
    ]


def test_replacing_a_faulted_zfs_device_resilvers_to_online(polled_fleet, nora):
    polled_fleet.inject("nas1", "disk-fail", "ada1")
    poll("nas1")
    assert ZPool.objects.get(host__name="nas1", name="zroot").health == "DEGRADED"

    op = services.request_operation(
        "disk-replace", "nas1", {"pool": "zroot", "old": "ada1p4", "new": "da1p3"}, by=nora
    )
    services.approve(op, by=nora)
    run_while_time_passes(polled_fleet, op.pk, 3600)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert ZPool.objects.get(host__name="nas1", name="zroot").health == "ONLINE"


def test_clone_refuses_to_pull_the_last_active_copy(polled_fleet, nora):
    polled_fleet.inject("nas1", "disk-fail", "ada1")
    poll("nas1")
    with pytest.raises(services.PlanRefused, match="mirror is DEGRADED"):
        services.request_operation(
            "mirror-clone", "nas1", {"mirror": "swap", "disk": "ada0p2"}, by=nora
        )


@pytest.fixture
def ufs_fleet(tmp_path, db, ssh_timeouts, fast_ops):
    """The demo fleet with web1 booting from a UFS gmirror (gm0), as the white paper's
    servers do: the clone procedure's source."""
    spec = yaml.safe_load(DEMO_SPEC.read_text())
    web1 = next(h for h in spec["hosts"] if h["name"] == "web1")
    web1["mirrors"] = [
        {"name": "swap", "components": ["ada0p2", "ada1p2"]},
        {"name": "gm0", "components": ["ada0p3", "ada1p3"]},
    ]
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(spec))
    with running_fleet(path, tmp_path / "fleet", base_port=0) as running:
        call_command("import_inventory", str(running.inventory_path), verbosity=0)
        poll_all()
        try:
            yield running
        finally:
            stop_polling()  # before the fleet stops (see stop_polling)


def test_clone_takes_a_disk_out_waits_for_the_person_then_makes_the_mirror_whole(
    ufs_fleet, nora, sam
):
    polled_fleet = ufs_fleet
    op = services.request_operation(
        "mirror-clone",
        "web1",
        {"mirror": "gm0", "disk": "ada1p3", "replacement": "ada1p3", "mountpoint": "/mnt"},
        by=nora,
    )
    services.approve(op, by=sam)
    engine.run(op.pk)
    op.refresh_from_db()
    assert op.awaiting == "confirm" and "adjust the copy under /mnt" in op.awaiting_prompt
    assert op.steps.get(key="fsck").exit_status == 0
    services.answer(op, "confirm", by=sam)
    engine.run(op.pk)
    op.refresh_from_db()
    assert "put ada1p3 into the new server" in op.awaiting_prompt

    services.answer(op, "confirm", by=sam)
    run_while_time_passes(polled_fleet, op.pk, 3600)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert Mirror.objects.get(host__name="web1", name="gm0").state == "COMPLETE"
    assert [s.key for s in op.steps.order_by("position")] == [
        "remove",
        "fsck",
        "mount",
        "adjust",
        "umount",
        "move",
        "insert",
    ]


def test_back_up_now_runs_the_job_and_records_the_restore_point(polled_fleet, nora):
    before = BackupRun.objects.filter(job__name="acme-web1").count()
    op = services.request_operation("backup-now", "acme-web1", {}, by=nora)
    services.approve(op, by=nora)

    run_while_time_passes(polled_fleet, op.pk, 300)

    op.refresh_from_db()
    assert op.state == "succeeded", op.result
    assert op.steps.get().script == "/usr/local/sbin/nyiops-backup acme-web1"
    assert BackupRun.objects.filter(job__name="acme-web1").count() == before + 1
    latest = BackupRun.objects.filter(job__name="acme-web1").latest("started_at")
    assert latest.exit_code == 0 and latest.snapshot_verified
