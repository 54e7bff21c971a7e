"""hosts/ssh.py against real SSH servers on 127.0.0.1 (RELIABILITY B1-B8). No database."""

from __future__ import annotations

import ast
import base64
import logging
import os
import socket
import subprocess
import threading
import time
import tracemalloc
from pathlib import Path

import asyncssh
import paramiko
import pytest

from hosts import ssh
from hosts.ssh import (
    CommandResult,
    ConnectionPool,
    HostKey,
    HostKeyChanged,
    HostKeyUnknown,
    SSHError,
    SSHTarget,
    connect,
    generate_client_key,
)
from tests.unit.ssh_servers import (
    Blackhole,
    RawServer,
    SSHServer,
    StallingParamikoServer,
    closed_port,
)

REPO = Path(__file__).resolve().parents[2]


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture(scope="module")
def client_key():
    return generate_client_key()


@pytest.fixture(scope="module")
def host_key():
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
def server(host_key, client_key):
    srv = SSHServer(host_key, client_key[1])
    yield srv
    srv.close()


def make_target(port, private_key, pinned, **kw):
    values = dict(connect_timeout=1.0, banner_timeout=0.5, auth_timeout=1.0, channel_timeout=1.0)
    values.update(kw)
    return SSHTarget(
        name="web1", address="127.0.0.1", port=port, username="nyiops-ro",
        private_key=private_key, pinned_key=pinned, **values,
    )  # fmt: skip


@pytest.fixture
def target(server, client_key):
    return make_target(server.port, client_key[0], HostKey.from_openssh(server.host_public_line))


# --- host keys --------------------------------------------------------------------------


def test_host_key_parse_and_fingerprint_match_ssh_keygen(tmp_path, host_key):
    line = host_key.export_public_key().decode().strip() + " root@web1"
    hk = HostKey.from_openssh(line)
    assert hk.key_type == "ssh-ed25519"
    assert hk.openssh() == " ".join(line.split()[:2])
    (tmp_path / "k.pub").write_text(line + "\n")
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "k.pub")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.split()[1] == hk.fingerprint
    assert hk.fingerprint == host_key.get_fingerprint("sha256")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "ssh-ed25519",
        "ssh-ed25519 not-base64!!",
        "ssh-ed25519 "
        + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x03abc").decode(),
        "ssh-frobnicate AAAAC3NzaC1lZDI1NTE5AAAAIEp6",
    ],
)
def test_host_key_from_openssh_rejects_invalid(line):
    with pytest.raises(ValueError):
        HostKey.from_openssh(line)


def test_host_key_type_must_match_key_data():
    rsa = paramiko.RSAKey.generate(1024)
    with pytest.raises(ValueError):
        HostKey.from_openssh(f"ssh-ed25519 {rsa.get_base64()}")
    assert HostKey.from_openssh(f"ssh-rsa {rsa.get_base64()}").key_type == "ssh-rsa"


def test_policy_records_and_refuses_unknown_key(host_key):
    # B8: the module's MissingHostKeyPolicy never accepts, it records.
    blob = base64.b64decode(host_key.export_public_key().split()[1])
    offered = paramiko.PKey.from_type_string("ssh-ed25519", blob)
    policy = ssh.RecordAndRefusePolicy()
    assert isinstance(policy, paramiko.MissingHostKeyPolicy)
    with pytest.raises(HostKeyUnknown) as exc:
        policy.missing_host_key(None, "[127.0.0.1]:2222", offered)
    assert policy.offered == exc.value.offered
    assert exc.value.offered.fingerprint == host_key.get_fingerprint("sha256")


def test_unknown_host_key_refused_before_authentication(server, client_key, host_key):
    # B5: no pin -> refused after kex, before any userauth request; offered key reported.
    tgt = make_target(server.port, client_key[0], None)
    with pytest.raises(HostKeyUnknown) as exc:
        connect(tgt)
    err = exc.value
    assert err.permanent and err.kind == "host_key_unknown"
    assert err.offered.openssh() == server.host_public_line
    assert err.offered.fingerprint in err.reason
    assert wait_until(lambda: server.closed == 1)
    assert server.connections == 1 and server.auth_attempts == 0


def test_changed_host_key_sends_no_credentials(server, client_key):
    # B6: a different key for a pinned host -> old and new fingerprints, no auth attempted.
    other = HostKey.from_openssh(
        asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    )
    tgt = make_target(server.port, client_key[0], other)
    with pytest.raises(HostKeyChanged) as exc:
        connect(tgt)
    err = exc.value
    assert err.permanent and err.kind == "host_key_changed"
    assert err.expected == other
    assert err.offered.openssh() == server.host_public_line
    assert other.fingerprint in err.reason and err.offered.fingerprint in err.reason
    assert wait_until(lambda: server.closed == 1)
    assert server.auth_attempts == 0


# --- authentication ---------------------------------------------------------------------


def test_auth_failure_is_permanent_and_never_leaks_key(server, target, caplog):
    # B7: the server does not know this key.
    wrong_private, _ = generate_client_key()
    tgt = make_target(target.port, wrong_private, target.pinned_key)
    caplog.set_level(logging.DEBUG)  # paramiko's own DEBUG logging included
    with pytest.raises(SSHError) as exc:
        connect(tgt)
    err = exc.value
    assert err.kind == "auth" and err.permanent and err.reason == "authentication failed"
    assert server.auth_attempts == 1
    key_body = "".join(wrong_private.splitlines()[1:-1])
    texts = [str(err), repr(err), repr(tgt), caplog.text]
    for text in texts:
        assert "PRIVATE KEY" not in text
        assert key_body[:40] not in text and key_body[-40:] not in text
    assert err.__cause__ is None and err.__suppress_context__


def test_invalid_private_key_is_auth_error_without_key_text(target):
    tgt = make_target(target.port, "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n", None)
    with pytest.raises(SSHError) as exc:
        connect(tgt)
    assert exc.value.kind == "auth" and exc.value.permanent
    assert "c2VjcmV0" not in str(exc.value) and "BEGIN" not in str(exc.value)


def test_auth_stall_hits_auth_timeout(host_key, client_key):
    srv = SSHServer(host_key, client_key[1], auth_delay=3.0)
    try:
        tgt = make_target(
            srv.port, client_key[0], HostKey.from_openssh(srv.host_public_line), auth_timeout=0.5
        )
        start = time.monotonic()
        with pytest.raises(SSHError) as exc:
            connect(tgt)
        assert time.monotonic() - start < 2.0
        assert exc.value.kind == "timeout" and not exc.value.permanent
        assert exc.value.reason == "authentication timed out after 0.5s"
    finally:
        srv.close()


# --- unreachable, tarpit ----------------------------------------------------------------


def test_connection_refused(client_key):
    # B1: RST.
    with pytest.raises(SSHError) as exc:
        connect(make_target(closed_port(), client_key[0], None))
    assert exc.value.reason == "connection refused"
    assert exc.value.kind == "unreachable" and not exc.value.permanent


def test_blackholed_connect_times_out(client_key):
    # B1: SYNs dropped (accept backlog full); connect() must give up at our deadline.
    hole = Blackhole()
    try:
        start = time.monotonic()
        with pytest.raises(SSHError) as exc:
            connect(make_target(hole.port, client_key[0], None, connect_timeout=0.3))
        assert time.monotonic() - start < 1.0
        assert exc.value.reason == "connect timed out after 0.3s"
        assert exc.value.kind == "timeout" and not exc.value.permanent
    finally:
        hole.close()


@pytest.mark.parametrize(
    ("greeting", "reason"),
    [
        (b"", "no SSH banner within 0.5s"),  # B2 tarpit: TCP accepted, nothing sent
        (b"SSH-2.0-tarpit\r\n", "key exchange did not complete within 0.5s"),  # stalls in kex
    ],
)
def test_tarpit_fails_at_banner_deadline_and_frees_socket(client_key, greeting, reason):
    raw = RawServer(greeting)
    try:
        before = set(threading.enumerate())
        start = time.monotonic()
        with pytest.raises(SSHError) as exc:
            connect(make_target(raw.port, client_key[0], None))
        assert time.monotonic() - start < 1.5
        assert exc.value.reason == reason
        assert exc.value.kind == "timeout" and not exc.value.permanent
        assert wait_until(lambda: raw.client_closed == 1, 3)  # socket freed
        # No transport reader or handshake-timer thread left behind (other tests' threads
        # may come and go, so only the ones started during this connect are considered).
        started = [t for t in threading.enumerate() if t not in before]
        assert wait_until(lambda: not any(t.is_alive() for t in started), 3)
    finally:
        raw.close()


# --- commands ---------------------------------------------------------------------------


def test_run_quotes_argv_wraps_in_timeout_and_sets_c_locale(server, target):
    conn = connect(target)
    try:
        hostile = "a b; touch /tmp/pwned-$(id -u) 'x\""
        res = conn.run(["printf", "%s|", hostile, "$LC_ALL"], timeout=5)
        assert isinstance(res, CommandResult)
        assert res.exit_status == 0 and res.stdout == f"{hostile}|$LC_ALL|"
        assert not res.stdout_truncated and not res.stderr_truncated
        assert res.command == "printf '%s|' 'a b; touch /tmp/pwned-$(id -u) '\"'\"'x\"' '$LC_ALL'"
        assert server.commands[-1].startswith("env LC_ALL=C timeout -k 5 6 sh -c ")
        script = conn.run('echo "$LC_ALL"; echo oops >&2; exit 3')  # prebuilt script
        assert (script.exit_status, script.stdout, script.stderr) == (3, "C\n", "oops\n")
        bad = conn.run(["printf", "\\377ok"])
        assert bad.stdout == "\ufffdok"  # decoded with errors="replace"
    finally:
        conn.close()


def test_run_sends_stdin_then_eof_for_file_writes(server, target, tmp_path):
    # `cat > PATH` with the content on stdin: the content never appears on a command line.
    dest = tmp_path / "written.conf"
    content = b"pass in quick on lo0 all\n" * 5000  # several SSH windows' worth
    conn = connect(target)
    try:
        res = conn.run(f"cat > {dest}", stdin=content, timeout=5)
        assert res.exit_status == 0
        assert dest.read_bytes() == content
        assert "pass in quick" not in server.commands[-1]
        empty = conn.run(["wc", "-c"], stdin=b"", timeout=5)
        assert empty.stdout.strip() == "0"
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("stall", "reason", "sent"),
    [
        ("open", "no session channel within 0.5s", False),
        ("exec", "exec request not answered within 0.5s", True),
    ],
)
def test_stalled_channel_open_or_exec_hits_channel_timeout(client_key, stall, reason, sent):
    # paramiko's exec_command waits for the reply with no timeout: our watchdog bounds it.
    host_private, _ = generate_client_key()
    srv = StallingParamikoServer(host_private, stall)
    try:
        tgt = make_target(
            srv.port, client_key[0], HostKey.from_openssh(srv.host_public_line),
            channel_timeout=0.5,
        )  # fmt: skip
        conn = connect(tgt)
        start = time.monotonic()
        with pytest.raises(SSHError) as exc:
            conn.run(["true"], timeout=5)
        assert time.monotonic() - start < 1.5
        assert exc.value.reason == reason
        assert exc.value.kind == "timeout" and exc.value.command_sent is sent
        conn.close()
    finally:
        srv.close()


def test_socket_options(server, target):
    conn = connect(target)
    try:
        sock = conn._sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert conn._transport.packetizer._Packetizer__keepalive_interval == 15
    finally:
        conn.close()


def test_hung_command_hits_deadline_and_remote_is_killed(server, target, tmp_path):
    # B3: client deadline fires; channel closed; timeout(1) on the "host" kills the process.
    pidfile = tmp_path / "pid"
    conn = connect(target)
    try:
        start = time.monotonic()
        with pytest.raises(SSHError) as exc:
            conn.run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"], timeout=0.5)
        assert 0.5 <= time.monotonic() - start < 1.5
        err = exc.value
        assert err.reason == "command timed out after 0.5s"
        assert err.kind == "command_timeout" and not err.permanent and err.command_sent
        assert all(c.closed for c in conn._transport._channels.values())  # channel closed
        pid = int(pidfile.read_text())

        def gone():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False

        assert wait_until(gone, 4.0)  # remote deadline is ceil(0.5) + 1 = 2 s
        assert conn.run(["true"]).exit_status == 0  # the connection itself is still usable
    finally:
        conn.close()


def test_huge_interleaved_output_is_capped_without_deadlock(server, target):
    # B4: 8 MiB stdout + 2 MiB stderr written concurrently; more than the 2 MiB window.
    script = (
        "(head -c 8388608 /dev/zero | tr '\\0' o) & "
        "(head -c 2097152 /dev/zero | tr '\\0' e >&2) & wait"
    )
    conn = connect(target)
    try:
        full = conn.run(script, timeout=10, max_bytes=16 << 20)
        assert len(full.stdout) == 8 << 20 and len(full.stderr) == 2 << 20
        assert not full.stdout_truncated and not full.stderr_truncated

        tracemalloc.start()
        try:
            capped = conn.run(script, timeout=10, max_bytes=1 << 20)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert capped.exit_status == 0
        assert capped.stdout == "o" * (1 << 20) and capped.stderr == "e" * (1 << 20)
        assert capped.stdout_truncated and capped.stderr_truncated
        assert peak < 8 << 20  # bounded: never the 10 MiB produced
    finally:
        conn.close()


# --- pool -------------------------------------------------------------------------------


def test_pool_reuses_one_connection(server, target):
    # The round-trip time this buys is measured in bench/, not asserted here.
    pool = ConnectionPool()
    try:
        assert pool.run(target, ["echo", "one"]).stdout == "one\n"
        assert pool.run(target, ["echo", "two"]).stdout == "two\n"
        assert server.connections == 1
        for _ in range(100):
            pool.run(target, ["true"])
        assert server.connections == 1
    finally:
        pool.close_all()


@pytest.mark.parametrize("noticed", [True, False])
def test_pool_reopens_after_server_closed_connection(server, target, noticed):
    pool = ConnectionPool()
    try:
        pool.run(target, ["true"])
        server.drop_connections()
        if noticed:  # transport already dead vs. the race where the client has not seen it yet
            assert wait_until(lambda: server.closed == 1)
        assert pool.run(target, ["echo", "again"]).stdout == "again\n"
        assert server.connections == 2
        assert server.commands.count(server.commands[-1]) == 1  # not run twice
    finally:
        pool.close_all()


def test_pool_never_reruns_a_command_whose_connection_died_mid_run(server, target):
    pool = ConnectionPool()
    try:
        pool.run(target, ["true"])

        def drop_once_started():
            if wait_until(lambda: any("sleep 3" in c for c in server.commands)):
                server.drop_connections()

        threading.Thread(target=drop_once_started, daemon=True).start()
        with pytest.raises(SSHError) as exc:
            pool.run(target, ["sleep", "3"], timeout=5)
        err = exc.value
        assert err.reason == "session closed before the command reported an exit status"
        # The channel close may reach us just before or after the transport's end.
        assert err.kind in {"unreachable", "protocol"} and err.command_sent and not err.permanent
        assert sum("sleep 3" in c for c in server.commands) == 1
        assert pool.run(target, ["true"]).exit_status == 0  # next call reconnects
        assert server.connections == 2
    finally:
        pool.close_all()


def test_empty_command_is_rejected(server, target):
    conn = connect(target)
    try:
        with pytest.raises(ValueError):
            conn.run([])
    finally:
        conn.close()


def test_pool_closes_connection_on_timeout(server, target):
    pool = ConnectionPool()
    try:
        pool.run(target, ["true"])
        with pytest.raises(SSHError) as exc:
            pool.run(target, ["sleep", "1"], timeout=0.3)
        assert exc.value.kind == "command_timeout"
        assert wait_until(lambda: server.closed == 1)
        pool.run(target, ["true"])
        assert server.connections == 2
    finally:
        pool.close_all()


def test_pool_errors_are_ssh_errors(client_key):
    pool = ConnectionPool()
    with pytest.raises(SSHError) as exc:
        pool.run(make_target(closed_port(), client_key[0], None), ["true"])
    assert exc.value.reason == "connection refused"


def test_pool_is_thread_safe_and_parallel_across_targets(host_key, client_key):
    servers = [SSHServer(host_key, client_key[1]) for _ in range(2)]
    pool = ConnectionPool()
    try:
        targets = [
            make_target(s.port, client_key[0], HostKey.from_openssh(s.host_public_line))
            for s in servers
        ]
        targets[1] = SSHTarget(**{**targets[1].__dict__, "name": "web2"})
        for t in targets:  # warm up: connections open
            pool.run(t, ["true"])
        results: list[CommandResult] = []
        errors: list[BaseException] = []

        spans: dict[str, list[tuple[float, float]]] = {t.name: [] for t in targets}
        lock = threading.Lock()
        # Each command reports when it ran, by the server's own clock: no timing guesswork.
        script = "date +%s.%N; sleep 0.3; date +%s.%N"

        def work(t):
            try:
                result = pool.run(t, script)
            except SSHError as exc:
                errors.append(exc)
                return
            begin, end = map(float, result.stdout.split())
            with lock:
                results.append(result)
                spans[t.name].append((begin, end))

        def overlap(a, b):
            return a[0] < b[1] and b[0] < a[1]

        threads = [threading.Thread(target=work, args=(t,)) for t in targets * 2]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        assert not errors and len(results) == 4
        first, second = (spans[t.name] for t in targets)
        # Calls to one target take turns on its one connection ...
        assert not overlap(*first) and not overlap(*second)
        # ... while two targets run at the same time.
        assert any(overlap(a, b) for a in first for b in second)
        assert [s.connections for s in servers] == [1, 1]
    finally:
        pool.close_all()
        for s in servers:
            s.close()


# --- structure --------------------------------------------------------------------------


def test_generate_client_key_loads_with_paramiko(client_key):
    private, public = client_key
    key = paramiko.Ed25519Key.from_private_key(__import__("io").StringIO(private))
    assert public.split()[:2] == [key.get_name(), key.get_base64()]


def test_no_other_module_imports_paramiko():
    # CONVENTIONS 3: hosts/ssh.py is the only importer; nobody uses AutoAdd/WarningPolicy.
    offenders, policies = [], []
    for path in REPO.rglob("*.py"):
        rel = path.relative_to(REPO)
        # var/ holds run-time state (and the benchmark's own venvs), not project code.
        skipped = {".venv", "var", "tests", "fleetsim", "node_modules"}
        if rel.parts[0] in skipped or rel.parts[0].startswith("."):
            continue
        tree = ast.parse(path.read_text(), str(rel))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "paramiko" or n.startswith("paramiko.") for n in names):
                offenders.append(str(rel))
            if isinstance(node, ast.Attribute | ast.Name) and getattr(
                node, "attr", getattr(node, "id", None)
            ) in {"AutoAddPolicy", "WarningPolicy"}:
                policies.append(str(rel))
    assert sorted(set(offenders)) == ["hosts/ssh.py"]
    assert policies == []


def test_a_command_runs_when_the_process_holds_more_descriptors_than_select_allows(target):
    # A worker holding a fleet's persistent connections has descriptors past FD_SETSIZE
    # (1024); the channel's descriptor is then too, and select() would refuse it.
    held = []
    try:
        while not held or held[-1][0] < 1100:
            held.append(os.pipe())
        pool = ConnectionPool()
        try:
            assert pool.run(target, ["echo", "many"]).stdout == "many\n"
        finally:
            pool.close_all()
    finally:
        for r, w in held:
            os.close(r)
            os.close(w)
