"""Act commands, part 6: backup now — the wrapper starts the job, the log and the snapshot
follow after the job's simulated duration, as the poller reads them."""

from __future__ import annotations

import pytest

from fleetsim.testing import running_fleet
from hosts.freebsd.backuplog import parse_backup_log

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim
LOG = "cat /var/log/nyiops-backup/acme-web.log"
SNAPS = "zfs list -H -t snapshot -o name -r tank/backups/acme-web"


def last_run(ssh):
    log = parse_backup_log(ssh.run("nas", LOG)[0])
    assert log.parse_errors == ()
    return log.runs[-1]


def test_backup_now_logs_start_then_end_and_snapshot(fleet, ssh):
    before = ssh.run("nas", SNAPS)[0].splitlines()
    assert ssh.run("nas", "/usr/local/sbin/nyiops-backup acme-web") == ("", "", 0)
    run = last_run(ssh)
    assert run.finished_at is None and run.exit_code is None  # still running
    assert ssh.run("nas", "nyiops-backup acme-web")[1:] == (
        "nyiops-backup: acme-web: already running (pid 40000)\n",
        75,
    )
    fleet.advance(119)
    assert last_run(ssh).finished_at is None
    fleet.advance(2)  # duration_seconds defaults to 120
    run = last_run(ssh)
    assert run.exit_code == 0 and run.snapshot and run.stats is not None
    after = ssh.run("nas", SNAPS)[0].splitlines()
    assert after[-1] == run.snapshot and run.snapshot not in before


def test_backup_now_with_a_failing_job(fleet, ssh):
    fleet.inject("nas", "backup-fail", "acme-web", "23")
    ssh.run("nas", "daemon -f nyiops-backup acme-web")
    fleet.advance(121)
    run = last_run(ssh)
    assert (run.exit_code, run.snapshot) == (23, None)  # the log says `snapshot -`


def test_backup_now_refuses_bad_jobs(fleet, ssh):
    assert ssh.run("nas", "nyiops-backup nojob") == (
        "",
        "nyiops-backup: unknown job 'nojob'\n",
        64,
    )
    assert ssh.run("web", "nyiops-backup acme-web") == (
        "",
        "nyiops-backup: acme-web: runs on nas, not here\n",
        64,
    )


def test_a_running_backup_finishes_after_a_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        ssh.run("nas", "nyiops-backup acme-web")
        ssh.close()
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        assert last_run(ssh).finished_at is None
        fleet.advance(121)
        assert last_run(ssh).exit_code == 0
        ssh.close()
