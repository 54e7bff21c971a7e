"""The same command handler behind Debian's OpenSSH sshd (ForceCommand), so the client is
proven against a real OpenSSH server and not only against our asyncssh one."""

from __future__ import annotations

import base64
import getpass
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from fleetsim.testing import running_fleet

from .conftest import carp_states, small_spec

pytestmark = pytest.mark.sim
SSHD = "/usr/sbin/sshd"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path):
    if not os.path.exists(SSHD):
        if os.environ.get("CI"):
            pytest.fail(f"{SSHD} is missing under CI (.ci/run must install openssh-server)")
        pytest.skip(f"{SSHD} not installed: apt-get update && apt-get install -y openssh-server")
    state = tmp_path / "state"
    with running_fleet(small_spec(), state):
        pass  # create the state, keys and spec; the server is stopped again
    key_path = tmp_path / "ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_path)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    force = f"cd {REPO} && exec {sys.executable} -m fleetsim exec --state {state} --host fwa"
    cfg = tmp_path / "sshd_config"
    cfg.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"HostKey {key_path}",
                f"PidFile {tmp_path}/sshd.pid",
                f"AuthorizedKeysFile {state}/client_key.pub",
                "UsePAM no",
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PermitTTY no",
                "LogLevel ERROR",
                f"ForceCommand {force}",
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # OpenSSH's privilege-separation directory
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(cfg), "-p", str(port)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {proc.stderr.read()}")
            time.sleep(0.05)
    pub = (key_path.with_suffix(".pub")).read_text().split()
    yield {"port": port, "state": state, "host_key": (pub[0], pub[1])}
    proc.terminate()
    proc.wait(10)


def test_poll_batch_under_openssh_forcecommand(sshd):
    client = paramiko.SSHClient()
    kind, b64 = sshd["host_key"]
    client.get_host_keys().add(
        f"[127.0.0.1]:{sshd['port']}",
        kind,
        paramiko.PKey.from_type_string(kind, base64.b64decode(b64)),
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=sshd["port"],
        username=getpass.getuser(),
        key_filename=str(sshd["state"] / "client_key"),
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    assert client.get_transport().remote_version.startswith("SSH-2.0-OpenSSH")

    def run(cmd):
        _, o, e = client.exec_command(cmd, timeout=30)
        return o.read().decode(), e.read().decode(), o.channel.recv_exit_status()

    out, err, rc = run(
        "LC_ALL=C; export LC_ALL; echo '@@@ifconfig'; ifconfig -a; "
        "echo \"@@@rc $?\"; echo '@@@sysctl'; sysctl net.inet.carp; "
        'echo "@@@rc $?"'
    )
    assert rc == 0, err
    assert carp_states(out) == {1: "MASTER", 2: "MASTER"}
    assert out.count("@@@rc 0\n") == 2 and "net.inet.carp.allow: 1\n" in out
    assert run("sysctl net.inet.carp.demotion=240")[0] == "net.inet.carp.demotion: 0 -> 240\n"
    assert run("sysctl -n net.inet.carp.demotion")[0] == "240\n"  # persisted between execs
    assert run("nosuchcmd") == ("", "sh: nosuchcmd: not found\n", 127)
    # stdin through sshd's pipe reaches `cat > PATH` of the host's virtual filesystem
    i, o, _ = client.exec_command("sh -c 'cat > /etc/sysctl.conf.local'", timeout=30)
    i.write("net.inet.carp.demotion=240\n")
    i.channel.shutdown_write()
    assert o.channel.recv_exit_status() == 0
    assert run("cat /etc/sysctl.conf.local")[0] == "net.inet.carp.demotion=240\n"
    client.close()
