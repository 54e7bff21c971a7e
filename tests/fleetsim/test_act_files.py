"""Act commands, part 1: stdin over SSH and the per-host virtual filesystem."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from fleetsim.testing import running_fleet

from .conftest import Client, small_spec

pytestmark = pytest.mark.sim
REPO = Path(__file__).resolve().parents[2]
WRAP = "env LC_ALL=C timeout -k 5 30 sh -c {}"


def test_cat_writes_what_the_client_sends_on_stdin_through_the_ssh_wrapper(fleet, ssh):
    text = "net.inet.carp.demotion=240\n"
    out, err, rc = ssh.run("fwa", WRAP.format("'cat > /etc/sysctl.conf.local'"), stdin=text)
    assert (out, err, rc) == ("", "", 0)
    assert ssh.run("fwa", "cat /etc/sysctl.conf.local") == (text, "", 0)
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert ssh.run("fwa", "sha256 -q /etc/sysctl.conf.local") == (digest + "\n", "", 0)
    assert ssh.run("fwa", "sha256 /etc/sysctl.conf.local")[0] == (
        f"SHA256 (/etc/sysctl.conf.local) = {digest}\n"
    )
    # another host's filesystem is its own
    assert ssh.run("fwb", "cat /etc/sysctl.conf.local") == (
        "",
        "cat: /etc/sysctl.conf.local: No such file or directory\n",
        1,
    )


def test_a_command_that_does_not_read_stdin_runs_without_waiting_for_eof(fleet, ssh):
    # the client never closes stdin here: the server must not wait for it
    assert ssh.run("fwa", "hostname -s") == ("fwa\n", "", 0)
    assert ssh.run("fwa", "echo x | cat") == ("x\n", "", 0)


def test_copy_move_remove_mkdir_and_test(fleet, ssh):
    run = lambda cmd: ssh.run("fwa", cmd)  # noqa: E731
    assert run("test -e /var/db/nyiops") == ("", "", 1)
    assert run("mkdir /var/db/nyiops/x") == (
        "",
        "mkdir: /var/db/nyiops/x: No such file or directory\n",
        1,
    )
    assert run("mkdir -p /var/db/nyiops && test -d /var/db/nyiops") == ("", "", 0)
    assert run("mkdir /var/db/nyiops") == ("", "mkdir: /var/db/nyiops: File exists\n", 1)
    assert run("cp /etc/pf.conf /var/db/nyiops/pf.conf.saved") == ("", "", 0)
    assert run("cat /var/db/nyiops/pf.conf.saved")[0] == run("cat /etc/pf.conf")[0]
    assert run("cp /etc/nothere /tmp/x") == ("", "cp: /etc/nothere: No such file or directory\n", 1)
    assert run("mv /var/db/nyiops/pf.conf.saved /tmp/") == ("", "", 0)
    assert run("test -f /tmp/pf.conf.saved && ! test -e /var/db/nyiops/pf.conf.saved") == (
        "",
        "",
        0,
    )
    assert run("mv /nothere /tmp/y") == (
        "",
        "mv: rename /nothere to /tmp/y: No such file or directory\n",
        1,
    )
    assert run("rm /tmp/pf.conf.saved; rm -f /tmp/pf.conf.saved") == ("", "", 0)
    assert run("rm /tmp/pf.conf.saved") == (
        "",
        "rm: /tmp/pf.conf.saved: No such file or directory\n",
        1,
    )
    assert run("rm /etc") == ("", "rm: /etc: is a directory\n", 1)
    assert run("cat /etc") == ("", "cat: /etc: Is a directory\n", 1)
    assert run("[ -s /etc/pf.conf ] && [ ! -s /dev/null ] && echo yes") == ("yes\n", "", 0)


def test_redirections_write_append_and_read_files(fleet, ssh):
    run = lambda cmd: ssh.run("fwb", cmd)  # noqa: E731
    assert run("echo one > /tmp/f; echo two >> /tmp/f; cat < /tmp/f") == ("one\ntwo\n", "", 0)
    assert run(": > /tmp/f; wc -l < /tmp/f") == ("       0\n", "", 0)
    assert run("echo x > /etc/nodir/f") == (
        "",
        "sh: cannot create /etc/nodir/f: No such file or directory\n",
        2,
    )
    assert run("echo x > /etc") == ("", "sh: cannot create /etc: Is a directory\n", 2)
    assert run("cat < /etc/nothere") == (
        "",
        "sh: cannot open /etc/nothere: No such file or directory\n",
        2,
    )
    # the state defines some files; they cannot be overwritten
    assert run("echo x > /var/log/messages")[1:] == (
        "sh: cannot create /var/log/messages: Permission denied\n",
        2,
    )


def test_files_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        assert ssh.run("web", "mkdir -p /etc/jail.conf.d")[2] == 0
        assert ssh.run("web", "cat > /etc/jail.conf.d/new.conf", stdin="new { }\n")[2] == 0
        ssh.close()
    with running_fleet(small_spec(), state) as fleet:
        ssh = Client(fleet)
        assert ssh.run("web", "cat /etc/jail.conf.d/new.conf") == ("new { }\n", "", 0)
        assert ssh.run("web", "ls /etc/jail.conf.d") == ("new.conf\n", "", 0)
        ssh.close()


def test_fleetsim_exec_passes_stdin_like_sshd(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state):
        pass

    def execute(command: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "fleetsim", "exec", "--state", str(state), "--host", "fwa"],
            cwd=REPO,
            env={"SSH_ORIGINAL_COMMAND": command, "PATH": "/usr/bin:/bin"},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert execute("cat > /tmp/in", "from stdin\n").returncode == 0
    assert execute("cat /tmp/in").stdout == "from stdin\n"
