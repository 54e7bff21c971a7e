"""Fault injection: connection-level faults, output faults, backups, and the ctl command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from fleetsim import ctl
from fleetsim.faults import FaultError
from fleetsim.testing import running_fleet

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim
REPO = Path(__file__).resolve().parents[2]


def fleetsim_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fleetsim", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


GENEROUS = 60.0  # s: a loaded 2-core machine may be slow; only a stall this long is a failure


def test_slow_stalls_before_authentication_and_each_command(fleet, ssh):
    fleet.inject("web", "slow", "3.0")

    # A client that gives up sooner than the stall fails at authentication: the TCP
    # connection is accepted and then nothing answers (what a tarpit host looks like).
    with pytest.raises(paramiko.SSHException):
        ssh.connect("web", timeout=0.5)
    # A patient client gets through, and cannot have done so sooner than the stall (a lower
    # bound only: load can make it slower, never faster).
    t0 = time.monotonic()
    patient = ssh.connect("web", timeout=GENEROUS)
    assert time.monotonic() - t0 >= 3.0
    patient.close()

    fleet.heal("web")
    assert ssh.run("web", "true", timeout=GENEROUS)[2] == 0


def test_auth_fail_refuses_the_key_until_healed(fleet, ssh):
    fleet.inject("web", "auth-fail")

    with pytest.raises(paramiko.AuthenticationException):
        ssh.connect("web", timeout=GENEROUS)
    fleet.heal("web")
    assert ssh.run("web", "true", timeout=GENEROUS)[2] == 0


def test_hostkey_change_is_caught_by_the_pinned_key(fleet, ssh):
    fleet.inject("web", "hostkey-change")

    with pytest.raises(paramiko.BadHostKeyException):
        ssh.connect("web", timeout=GENEROUS)
    fleet.heal("web", "hostkey-change")
    assert ssh.run("web", "hostname", timeout=GENEROUS)[0].startswith("web.")


def test_garbage_and_truncate_hit_only_their_command(fleet, ssh):
    good = ssh.run("nas", "zpool status")[0]
    fleet.inject("nas", "garbage", "zpool status")
    out = ssh.run("nas", "zpool status; echo '@@@'; zpool list -H -o name")[0]
    junk, rest = out.split("@@@\n")
    assert "pool:" not in junk and rest == "zroot\ntank\n"
    fleet.inject("nas", "truncate", "gmirror")
    cut = ssh.run("nas", "gmirror list")[0]
    fleet.heal("nas")
    assert ssh.run("nas", "zpool status")[0].count("pool:") == good.count("pool:")
    assert 0 < len(cut) < len(ssh.run("nas", "gmirror list")[0])


def test_backup_fail_shows_in_log_and_snapshots(fleet, ssh):
    log = "cat /var/log/nyiops-backup/acme-web.log"
    fleet.inject("nas", "backup-fail", "acme-web", "23")
    out = ssh.run("nas", log)[0]
    assert re.search(
        r"\nrsync error: some files/attrs were not transferred \(see previous "
        r"errors\) \(code 23\) at main\.c\(\d+\) \[generator=3\.2\.7\]\n",
        out,
    )
    assert out.endswith(" exit 23 snapshot -\n")
    fleet.inject("nas", "backup-fail", "acme-web", "12")
    out, err, rc = ssh.run("nas", "rsync -a --stats --delete web:/ /tank/backups/acme-web/")
    assert rc == 12 and "(code 12) at io.c(" in err and out == ""
    fleet.heal("nas", "backup-fail")
    out = ssh.run("nas", log)[0]
    snap = re.search(r" exit 0 snapshot (\S+)\n$", out).group(1)
    snaps = ssh.run(
        "nas",
        "zfs list -Hp -t snapshot -o name,creation,used,referenced "
        "-s creation -r tank/backups/acme-web",
    )[0]
    assert snaps.splitlines()[-1].split("\t")[0] == snap


def test_bad_control_commands_exit_2_and_change_nothing(fleet):
    before = (
        (fleet.state_dir / "faults.json").read_text()
        if (fleet.state_dir / "faults.json").exists()
        else None
    )
    for args, needle in (
        (["nope", "down"], "unknown host or cluster 'nope'"),
        (["fwa", "explode"], "unknown fault kind 'explode'"),
    ):
        r = fleetsim_cli("ctl", "--state", str(fleet.state_dir), "fault", *args)
        assert r.returncode == 2 and needle in r.stderr, (args, r.stderr)
    for args, needle in (
        (["fwa", "slow"], "fault slow takes SECONDS"),
        (["fwa", "slow", "-1"], "SECONDS must be a positive number"),
        (["fwa", "disk-fail", "ada9"], "no gmirror component or pool device"),
        (["lba", "backend-down", "web/w9"], "no HAProxy server 'web/w9'"),
        (["fwa", "split-brain"], "split-brain needs a cluster"),
        (["fwa", "pfsync-down", "x"], "takes no arguments"),
        (["web", "backup-fail", "nojob", "23"], "no backup job 'nojob'"),
        (["nas", "backup-fail", "acme-web", "x"], "CODE must be 1..255"),
    ):
        with pytest.raises(FaultError, match=re.escape(needle)):
            ctl.inject_fault(fleet.state_dir, *args)
    r = fleetsim_cli("ctl", "--state", str(fleet.state_dir), "heal", "ghost")
    assert r.returncode == 2 and "unknown host or cluster 'ghost'" in r.stderr
    after = (
        (fleet.state_dir / "faults.json").read_text()
        if (fleet.state_dir / "faults.json").exists()
        else None
    )
    assert before == after


def test_ctl_cli_against_running_server_and_status(fleet, ssh):
    r = fleetsim_cli(
        "ctl", "--state", str(fleet.state_dir), "fault", "lba", "backend-down", "web/w2"
    )
    assert r.returncode == 0, r.stderr
    r = fleetsim_cli("ctl", "--state", str(fleet.state_dir), "status")
    status = json.loads(r.stdout)
    assert status["running"] is True
    assert status["faults"] == [{"target": "lba", "kind": "backend-down", "args": ["web/w2"]}]
    assert status["hosts"]["fwa"]["carp"] == {"1": "MASTER", "2": "MASTER"}
    assert status["hosts"]["fwa"]["port"] == fleet.hosts["fwa"].port


def test_ctl_without_server_changes_persisted_state(tmp_path):
    state = tmp_path / "s"
    with running_fleet(small_spec(), state):
        pass
    r = fleetsim_cli("ctl", "--state", str(state), "fault", "nas", "disk-fail", "ada1")
    assert r.returncode == 0, r.stderr
    status = json.loads(fleetsim_cli("ctl", "--state", str(state), "status").stdout)
    assert status["running"] is False
    assert status["hosts"]["nas"]["mirrors"] == {"swap": "DEGRADED"}
    assert status["hosts"]["nas"]["pools"]["zroot"] == "DEGRADED"
    with running_fleet(small_spec(), state) as f:
        ssh = Client(f)
        assert "DEGRADED" in ssh.run("nas", "gmirror status -s")[0]
        ssh.close()
    assert fleetsim_cli("ctl", "--state", str(state), "heal", "nas").returncode == 0
    status = json.loads(fleetsim_cli("ctl", "--state", str(state), "status").stdout)
    assert status["faults"] == [] and status["hosts"]["nas"]["pools"]["zroot"] == "ONLINE"
    out = fleetsim_cli(
        "exec", "--state", str(state), "--host", "nas", "--command", "gmirror status -s"
    )
    assert "SYNCHRONIZING" in out.stdout or "COMPLETE" in out.stdout
    env = dict(os.environ, SSH_ORIGINAL_COMMAND="sh: oops")
    r = subprocess.run(
        [sys.executable, "-m", "fleetsim", "exec", "--state", str(state), "--host", "nas"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 127 and r.stderr == "sh: sh:: not found\n"
