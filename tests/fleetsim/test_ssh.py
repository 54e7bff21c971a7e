"""Through real SSH: what the poller runs, authentication, and writes that persist."""

from __future__ import annotations

import base64
import re
import socket

import paramiko
import pytest
import yaml

from fleetsim.testing import running_fleet

from .conftest import Client, carp_states, small_spec

pytestmark = pytest.mark.sim

BATCH = (
    "LC_ALL=C; export LC_ALL; echo '@@@ifconfig'; ifconfig -a; echo \"@@@rc $?\"; "
    "echo '@@@sysctl'; sysctl net.inet.carp; echo \"@@@rc $?\"; echo '@@@pfinfo'; "
    'pfctl -si; echo "@@@rc $?"; echo \'@@@gmirror\'; gmirror status -s; echo "@@@rc $?"'
)


def sections(text: str) -> dict[str, tuple[str, int]]:
    out = {}
    for m in re.finditer(r"@@@(\S+)\n(.*?)@@@rc (\d+)\n", text, re.S):
        out[m.group(1)] = (m.group(2), int(m.group(3)))
    return out


def test_poll_batch_through_wrappers(fleet, ssh):
    quoted = "'" + BATCH.replace("'", "'\\''") + "'"  # how a poller quotes for sh -c
    for wrapped in (BATCH, f"/bin/sh -c {quoted}", f"timeout -k 5 15 sh -c {quoted}"):
        out, err, rc = ssh.run("fwa", wrapped)
        assert rc == 0, err
        s = sections(out)
        assert set(s) == {"ifconfig", "sysctl", "pfinfo", "gmirror"}
        assert all(rc == 0 for _, rc in s.values())
        assert carp_states(s["ifconfig"][0]) == {1: "MASTER", 2: "MASTER"}
        assert (
            "\tinet 198.51.100.1 netmask 0xffffffc0 broadcast 198.51.100.63 vhid 1\n"
            in s["ifconfig"][0]
        )
        assert "net.inet.carp.preempt: 0\n" in s["sysctl"][0]
        assert re.search(r"^  current entries\s+\d+$", s["pfinfo"][0], re.M)
        assert s["gmirror"][0].startswith("mirror/swap  COMPLETE  ada0p2 (ACTIVE)\n")
    out, _, _ = ssh.run("fwb", "timeout -k 5 15 sh -c 'ifconfig -a'")
    assert carp_states(out) == {1: "BACKUP", 2: "BACKUP"}


def test_haproxy_through_socat(fleet, ssh):
    out, _, rc = ssh.run("lba", 'echo "show stat" | socat stdio /var/run/haproxy.sock')
    assert rc == 0 and out.startswith("# pxname,svname,") and out.endswith("\n\n")
    rows = [line.split(",") for line in out.splitlines()[1:] if line]
    assert [(r[0], r[1], r[17]) for r in rows] == [
        ("www", "FRONTEND", "OPEN"),
        ("web", "w1", "UP"),
        ("web", "w2", "UP"),
        ("web", "BACKEND", "UP"),
    ]
    out, _, _ = ssh.run(
        "lba", 'echo "show servers state" | socat - UNIX-CONNECT:/var/run/haproxy.sock'
    )
    assert out.splitlines()[0] == "1" and out.splitlines()[1].startswith("# be_id be_name")
    out, _, _ = ssh.run("lba", "echo 'show info' | socat stdio /var/run/haproxy.sock")
    assert "Name: HAProxy\n" in out and re.search(r"^Uptime_sec: \d+$", out, re.M)
    out, _, rc = ssh.run(
        "lba", 'echo "set server web/w2 state drain" | socat stdio /var/run/haproxy.sock'
    )
    assert (out, rc) == ("\n", 0)
    fleet.advance(11)  # the drained server's open sessions finish
    out, _, _ = ssh.run("lba", 'echo "show stat" | socat stdio /var/run/haproxy.sock')
    assert ",w2,0,0,0," in out and ",DRAIN," in out
    _, err, rc = ssh.run("fwa", 'echo "show info" | socat stdio /var/run/haproxy.sock')
    assert rc == 1 and "No such file or directory" in err


def test_system_and_storage_commands(fleet, ssh):
    out, _, _ = ssh.run("nas", "freebsd-version; uname -a; uptime")
    lines = out.splitlines()
    assert lines[0] == "14.1-RELEASE-p5"
    assert re.match(
        r"FreeBSD nas\.\S+ 14\.1-RELEASE-p5 FreeBSD 14\.1-RELEASE-p5 \S+ GENERIC "
        r"amd64$",
        lines[1],
    )
    assert re.match(r"^[ 1]\d:\d\d[AP]M  up .* load averages: [\d.]+, [\d.]+, [\d.]+$", lines[2])
    out, _, _ = ssh.run("nas", "zpool list -Hp -o name,size,alloc,free,frag,cap,health")
    assert [ln.split("\t")[0::6] for ln in out.splitlines()] == [
        ["zroot", "ONLINE"],
        ["tank", "ONLINE"],
    ]
    out, _, _ = ssh.run("nas", "zpool status -p tank")
    assert (
        "\tNAME        STATE     READ WRITE CKSUM\n\ttank        ONLINE       0     0     0\n"
        "\t  raidz2-0  ONLINE       0     0     0\n" in out
    )
    out, _, _ = ssh.run("nas", "zfs list -Hp -o name,used,avail,refer,mountpoint -t filesystem")
    assert "tank/backups/acme-web\t" in out and all(
        len(ln.split("\t")) == 5 for ln in out.splitlines()
    )
    out, _, _ = ssh.run(
        "nas",
        "zfs list -Hp -t snapshot -o name,creation,used,referenced "
        "-s creation -r tank/backups/acme-web",
    )
    snaps = [ln.split("\t") for ln in out.splitlines()]
    assert len(snaps) >= 7 and [int(s[1]) for s in snaps] == sorted(int(s[1]) for s in snaps)
    out, _, _ = ssh.run("nas", "cat /var/log/nyiops-backup/acme-web.log")
    assert re.match(
        r"=== nyiops-backup acme-web start \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n"
        r"Number of files: ",
        out,
    )
    assert re.search(
        r"\n=== nyiops-backup acme-web end \S+Z exit 0 snapshot "
        r"tank/backups/acme-web@nyiops-\d{4}-\d\d-\d\dT\d{4}\n$",
        out,
    )
    assert snaps[-1][0] == out.rsplit(" ", 1)[1].strip()
    out, _, _ = ssh.run("web", "jls --libxo json; jls -v; jls")
    assert '"jail-information": {"jail": [{"jid": 1, "ipv4": "198.51.100.20"' in out
    assert "   JID  IP Address      Hostname                      Path\n" in out


def test_redirections_through_ssh(fleet, ssh):
    out, err, rc = ssh.run("nas", "freebsd-version 2>&1; zpool status -x 2>/dev/null")
    assert (out, err, rc) == ("14.1-RELEASE-p5\nall pools are healthy\n", "", 0)
    out, err, rc = ssh.run("nas", 'zpool status nosuch 2>&1; echo "rc $?"; uptime >/dev/null')
    assert (out, err, rc) == ("cannot open 'nosuch': no such pool\nrc 1\n", "", 0)
    out, err, rc = ssh.run("nas", "zpool status nosuch 2>/dev/null || hostname -s >&2")
    assert (out, err, rc) == ("", "nas\n", 0)
    out, err, rc = ssh.run("nas", "freebsd-version >/tmp/v; cat /tmp/v")
    assert (out, err, rc) == ("14.1-RELEASE-p5\n", "", 0)
    out, err, rc = ssh.run("nas", "freebsd-version >/nodir/v")
    assert (out, err, rc) == ("", "sh: cannot create /nodir/v: No such file or directory\n", 2)
    out, err, rc = ssh.run("nas", "freebsd-version &>/dev/null")
    assert (out, rc) == ("", 2) and "background jobs are not supported" in err


def test_unauthenticated_client_cannot_open_a_channel(fleet):
    info = fleet.hosts["fwa"]
    sock = socket.create_connection(("127.0.0.1", info.port))
    t = paramiko.Transport(sock)
    t.start_client(timeout=5)
    assert t.remote_version.startswith("SSH-2.0-OpenSSH")
    with pytest.raises(paramiko.SSHException):
        t.open_session(timeout=3)
    assert not t.is_active()  # the server hangs up on a channel request before auth
    t.close()
    t = paramiko.Transport(socket.create_connection(("127.0.0.1", info.port)))
    t.start_client(timeout=5)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("nyiops", "nyiops")
    t.close()
    c = paramiko.SSHClient()
    key_type, key_b64 = info.host_key.split()[:2]
    c.get_host_keys().add(
        f"[127.0.0.1]:{info.port}",
        key_type,
        paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64)),
    )
    c.set_missing_host_key_policy(paramiko.RejectPolicy())  # pinned, as everywhere
    with pytest.raises(paramiko.AuthenticationException):
        c.connect(
            "127.0.0.1",
            port=info.port,
            username="root",
            key_filename=str(fleet.client_key_path),
            allow_agent=False,
            look_for_keys=False,
        )
    c.close()


def test_exec_only_no_shell(fleet, ssh):
    c = ssh.connect("fwa")
    chan = c.get_transport().open_session()
    with pytest.raises(paramiko.SSHException):
        chan.invoke_shell()
    c.close()


def test_writes_persist_across_restart(tmp_path):
    state = tmp_path / "state"
    with running_fleet(small_spec(), state) as f:
        ssh = Client(f)
        ports = {n: h.port for n, h in f.hosts.items()}
        keys = {n: h.host_key for n, h in f.hosts.items()}
        out, _, _ = ssh.run("fwa", "sysctl net.inet.carp.demotion=50")
        assert out == "net.inet.carp.demotion: 0 -> 50\n"
        out, _, _ = ssh.run("fwa", "sysctl net.inet.carp.demotion=50")
        assert out == "net.inet.carp.demotion: 50 -> 100\n"  # relative, as the kernel does
        assert ssh.run("fwb", "ifconfig igb0 vhid 2 advskew 77")[2] == 0
        assert ssh.run("web", "jail -r prod")[0] == "prod: removed\n"
        assert ssh.run("nas", "zfs snapshot tank/backups/acme-web@manual")[2] == 0
        ssh.close()
    inv = yaml.safe_load((state / "inventory.yaml").read_text())
    assert {h["name"]: h["ssh_port"] for h in inv["hosts"]} == ports
    with running_fleet(small_spec(), state) as f:
        assert {n: h.port for n, h in f.hosts.items()} == ports
        assert {n: h.host_key for n, h in f.hosts.items()} == keys
        ssh = Client(f)
        assert ssh.run("fwa", "sysctl -n net.inet.carp.demotion")[0] == "100\n"
        assert "advskew 77" in ssh.run("fwb", "ifconfig igb0")[0]
        assert "prod" not in ssh.run("web", "jls")[0]
        assert "@manual" in ssh.run("nas", "zfs list -H -t snapshot -o name")[0]
        ssh.close()
