"""The SSH layer: the only module that imports paramiko (CONVENTIONS 3, RELIABILITY §1, §3.2).

Plain values in, `CommandResult` or `SSHError` out; no Django imports, so it is testable
without the database. Every deadline is ours: paramiko leaves several waits unbounded.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import logging
import math
import os
import select
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hosts.inventory.keys import fingerprint

log = logging.getLogger(__name__)

KEEPALIVE_S = 15
IDLE_WAKE_S = 5.0
_CHUNK = 64 * 1024
_PERMANENT_KINDS = frozenset({"auth", "host_key_unknown", "host_key_changed"})
# Broad on purpose: paramiko raises plain EOFError/OSError/struct errors from its reader thread.
_NET_ERRORS = (paramiko.SSHException, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class HostKey:
    key_type: str  # "ssh-ed25519"
    key_base64: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key_base64)  # as ssh-keygen -l prints it

    @classmethod
    def from_openssh(cls, line: str) -> HostKey:
        parts = line.strip().split()
        if len(parts) < 2:
            raise ValueError("host key must look like '<type> <base64> [comment]'")
        try:  # validate by loading: a typo'd or truncated key must not be pinned
            pkey = paramiko.PKey.from_type_string(
                parts[0], base64.b64decode(parts[1], validate=True)
            )
        except (paramiko.SSHException, paramiko.UnknownKeyType, binascii.Error, ValueError) as exc:
            raise ValueError(f"invalid {parts[0]} host key: {type(exc).__name__}") from None
        if pkey.get_name() != parts[0]:
            raise ValueError(f"key data is {pkey.get_name()}, not {parts[0]}")
        return cls._from_pkey(pkey)

    @classmethod
    def _from_pkey(cls, pkey: paramiko.PKey) -> HostKey:
        return cls(pkey.get_name(), pkey.get_base64())

    def openssh(self) -> str:
        return f"{self.key_type} {self.key_base64}"

    def _pkey(self) -> paramiko.PKey:
        return paramiko.PKey.from_type_string(self.key_type, base64.b64decode(self.key_base64))


@dataclass(frozen=True)
class SSHTarget:
    name: str
    address: str
    port: int
    username: str
    private_key: str = field(repr=False)  # decrypted only in memory; never repr'd into logs
    pinned_key: HostKey | None
    connect_timeout: float = 5.0
    banner_timeout: float = 10.0  # covers banner and key exchange
    auth_timeout: float = 10.0
    channel_timeout: float = 10.0
    command_timeout: float = 15.0


def worst_case_seconds(target: SSHTarget) -> float:
    """The longest `ConnectionPool.run` can take for one command, every deadline expiring
    as late as it can: the cached connection's channel open times out (nothing was sent, so
    the pool reconnects once), then connect, banner+kex, auth, and the run itself, whose
    deadline counts from before its channel open, but whose exec request has its own
    watchdog (up to min(channel, command)). One second more for closing sockets."""
    run = max(
        target.command_timeout,
        target.channel_timeout + min(target.channel_timeout, target.command_timeout),
    )
    reconnect = target.connect_timeout + target.banner_timeout + target.auth_timeout
    return target.channel_timeout + reconnect + run + 1.0


class SSHError(Exception):
    """The only exception callers see. `command_sent` tells whether a retry could run it twice."""

    def __init__(self, reason: str, *, kind: str, command_sent: bool = False):
        super().__init__(reason)
        self.reason, self.kind, self.command_sent = reason, kind, command_sent
        self.permanent = kind in _PERMANENT_KINDS


class HostKeyUnknown(SSHError):
    def __init__(self, offered: HostKey):
        super().__init__(
            f"host key not approved: {offered.key_type} {offered.fingerprint}",
            kind="host_key_unknown",
        )
        self.offered = offered


class HostKeyChanged(SSHError):
    def __init__(self, expected: HostKey, offered: HostKey):
        super().__init__(
            f"host key changed: expected {expected.key_type} {expected.fingerprint}, "
            f"got {offered.key_type} {offered.fingerprint}",
            kind="host_key_changed",
        )
        self.expected, self.offered = expected, offered


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int | None  # always set today: a missing status raises SSHError instead
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    duration_s: float


class RecordAndRefusePolicy(paramiko.MissingHostKeyPolicy):
    """Records the offered key and refuses. Never AutoAddPolicy/WarningPolicy (B8, bandit B507)."""

    def __init__(self) -> None:
        self.offered: HostKey | None = None

    def missing_host_key(self, client, hostname, key):
        self.offered = HostKey._from_pkey(key)
        raise HostKeyUnknown(self.offered)


def _load_private_key(text: str) -> paramiko.PKey:
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    # No detail from the parser: its message could quote key bytes.
    raise SSHError("private key could not be loaded", kind="auth")


def _open_socket(target: SSHTarget) -> socket.socket:
    # Our own socket: paramiko never sets TCP_NODELAY (every exec then stalls ~40 ms on
    # delayed ACK) and its keepalive cannot detect a dead peer (paramiko#918).
    t = target.connect_timeout
    try:
        sock = socket.create_connection((target.address, target.port), timeout=t)
    except ConnectionRefusedError:
        raise SSHError("connection refused", kind="unreachable") from None
    except TimeoutError:
        raise SSHError(f"connect timed out after {t:g}s", kind="timeout") from None
    except OSError as exc:
        raise SSHError(f"connect failed: {exc.strerror or exc}", kind="unreachable") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for opt, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, opt):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
    return sock


def _handshake(target: SSHTarget, transport: paramiko.Transport) -> None:
    if target.pinned_key is not None:  # ask for the pinned type so a multi-key host matches
        want = target.pinned_key.key_type
        want = "rsa-sha2-512" if want == "ssh-rsa" else want
        opts = transport.get_security_options()
        if want in opts.key_types:
            opts.key_types = [want] + [k for k in opts.key_types if k != want]
    done = threading.Event()
    transport.start_client(event=done)  # async: start_client(timeout) just returns on expiry
    t = target.banner_timeout
    if not done.wait(t):
        if not transport.remote_version:
            raise SSHError(f"no SSH banner within {t:g}s", kind="timeout")
        raise SSHError(f"key exchange did not complete within {t:g}s", kind="timeout")
    if not transport.is_active():
        exc = transport.get_exception()
        if not transport.remote_version:
            if isinstance(getattr(exc, "__context__", None), TimeoutError):
                raise SSHError(f"no SSH banner within {t:g}s", kind="timeout")
            raise SSHError("connection closed before the SSH banner", kind="unreachable")
        raise SSHError(f"key exchange failed: {exc or 'negotiation failed'}", kind="protocol")


def _check_host_key(target: SSHTarget, transport: paramiko.Transport) -> None:
    # Checked after kex and before any auth request: a wrong or new key sends no credentials.
    name = target.address if target.port == 22 else f"[{target.address}]:{target.port}"
    known = paramiko.HostKeys()  # fresh per connection: nothing from or to ~/.ssh
    if target.pinned_key is not None:
        known.add(name, target.pinned_key.key_type, target.pinned_key._pkey())
    offered = transport.get_remote_server_key()
    entries = known.lookup(name)
    if entries is None:
        RecordAndRefusePolicy().missing_host_key(None, name, offered)
    expected = entries.get(offered.get_name())
    if expected is None or expected.asbytes() != offered.asbytes():
        raise HostKeyChanged(target.pinned_key, HostKey._from_pkey(offered))


def _authenticate(target: SSHTarget, transport: paramiko.Transport, pkey: paramiko.PKey) -> None:
    try:
        more = transport.auth_publickey(target.username, pkey)  # bounded by auth_timeout
    except paramiko.BadAuthenticationType as exc:
        reason = f"authentication failed (server allows {exc.allowed_types})"
        raise SSHError(reason, kind="auth") from None
    except paramiko.AuthenticationException as exc:
        if "timeout" in str(exc).lower():
            raise SSHError(
                f"authentication timed out after {target.auth_timeout:g}s", kind="timeout"
            ) from None
        raise SSHError("authentication failed", kind="auth") from None
    if more or not transport.is_authenticated():
        raise SSHError(f"authentication incomplete (server wants {more})", kind="auth")


def connect(target: SSHTarget) -> SSHConnection:
    pkey = _load_private_key(target.private_key)
    sock = _open_socket(target)
    transport = None
    try:
        transport = paramiko.Transport(sock)
        transport.banner_timeout = target.banner_timeout  # paramiko#515, #62: never unbounded
        transport.handshake_timeout = target.banner_timeout  # its timer thread outlives close()
        transport.auth_timeout = target.auth_timeout
        _handshake(target, transport)
        _check_host_key(target, transport)
        _authenticate(target, transport, pkey)
        transport.set_keepalive(KEEPALIVE_S)
        # paramiko's reader thread polls its socket every 0.1 s to notice shutdown; with a
        # persistent connection per host that is 10 wake-ups a second per idle host (a third
        # of a core at 500 hosts). Closing does not wait on it (stop_thread closes the
        # packetizer), a peer's EOF or reset wakes it at once (the drop watcher sees it),
        # and keepalives are still checked on every wake-up (sent 15-20 s after the last
        # packet). Every 5 s, not 1: 500 idle connections cost 0.9 % of a core instead of
        # 2.7 %, and each wake-up takes the GIL from the threads doing the polling.
        sock.settimeout(IDLE_WAKE_S)
        return SSHConnection(target, transport, sock)
    except BaseException as exc:
        _close_quietly(transport, sock)  # no half-open socket or transport thread left behind
        if isinstance(exc, _NET_ERRORS):
            reason = f"connection failed during handshake: {type(exc).__name__}: {exc}"
            exc = SSHError(reason, kind="protocol")
        if isinstance(exc, SSHError):
            log.info("ssh %s: %s", target.name, exc.reason)
        raise exc from None


def _close_quietly(transport: paramiko.Transport | None, sock: socket.socket) -> None:
    if transport is not None:
        transport.close()
    sock.close()


class _Capped:
    """Keeps the first `cap` bytes and counts the rest (memory bounded, paramiko#448)."""

    def __init__(self, cap: int):
        self.buf, self.cap, self.truncated = bytearray(), cap, False

    def add(self, data: bytes) -> None:
        room = self.cap - len(self.buf)
        if len(data) > room:
            self.truncated, data = True, data[: max(room, 0)]
        self.buf += data

    def text(self) -> str:
        return self.buf.decode("utf-8", errors="replace")


class SSHConnection:
    def __init__(self, target: SSHTarget, transport: paramiko.Transport, sock: socket.socket):
        self.target, self._transport, self._sock = target, transport, sock

    def is_alive(self) -> bool:
        return self._transport.is_active() and self._transport.is_authenticated()

    def run(
        self,
        argv: list[str] | str,
        *,
        timeout: float | None = None,
        max_bytes: int = 4 << 20,
        stdin: bytes | None = None,
    ) -> CommandResult:
        """argv list -> shlex.join; a str is an already-built script from fixed strings.
        `stdin` is sent then closed (EOF), for `cat > PATH` file writes."""
        timeout = self.target.command_timeout if timeout is None else timeout
        script = argv if isinstance(argv, str) else shlex.join(argv)
        if not script.strip():
            raise ValueError("empty command")
        # Closing a channel does not kill a pty-less remote process: FreeBSD timeout(1) does.
        # One second later than our deadline so ours fires first (not a racy exit 124).
        # `env` works under any login shell (csh too).
        command = f"env LC_ALL=C timeout -k 5 {math.ceil(timeout) + 1} sh -c {shlex.quote(script)}"
        start = time.monotonic()
        try:
            chan = self._transport.open_session(timeout=self.target.channel_timeout)
        except _NET_ERRORS as exc:  # nothing ran: safe to retry on a new connection
            if "Timeout" in str(exc):
                limit = self.target.channel_timeout
                raise SSHError(f"no session channel within {limit:g}s", kind="timeout") from None
            reason = f"could not open a session channel: {exc or type(exc).__name__}"
            raise SSHError(reason, kind="unreachable") from None
        try:
            self._exec(chan, command, min(self.target.channel_timeout, timeout))
            if stdin is not None:
                self._send_stdin(chan, stdin, start + timeout)
            out, err = _Capped(max_bytes), _Capped(max_bytes)
            if not self._collect(chan, start + timeout, out, err):
                raise SSHError(
                    f"command timed out after {timeout:g}s",
                    kind="command_timeout",
                    command_sent=True,
                )
            if chan.exit_status == -1:
                # Never a partial success: with timeout(1) in front, even a signal death
                # reports a status, so its absence means the session or connection died.
                kind = "protocol" if self._transport.is_active() else "unreachable"
                reason = "session closed before the command reported an exit status"
                raise SSHError(reason, kind=kind, command_sent=True)
        finally:
            chan.close()
        return CommandResult(
            command=script,
            exit_status=chan.exit_status,
            stdout=out.text(),
            stderr=err.text(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            duration_s=time.monotonic() - start,
        )

    @staticmethod
    def _exec(chan: paramiko.Channel, command: str, limit: float) -> None:
        # exec_command waits for the server's reply with no timeout at all: a watchdog
        # closes the channel, which wakes that wait (host alive but not answering, #62).
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            # close() marks the channel closed (waking the waiter) before it sends; a dead
            # socket at that point only means the transport is already gone.
            with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                chan.close()

        timer = threading.Timer(limit, expire)
        timer.daemon = True
        timer.start()
        try:
            chan.exec_command(command)
        except _NET_ERRORS as exc:
            if fired.is_set():
                reason = f"exec request not answered within {limit:g}s"
                raise SSHError(reason, kind="timeout", command_sent=True) from None
            reason = f"exec failed: {exc or type(exc).__name__}"
            raise SSHError(reason, kind="protocol", command_sent=True) from None
        finally:
            timer.cancel()

    @staticmethod
    def _send_stdin(chan: paramiko.Channel, data: bytes, deadline: float) -> None:
        # sendall() could wait forever on a full window; send in chunks under our deadline.
        view = memoryview(data)
        try:
            while view:
                if time.monotonic() >= deadline:
                    raise SSHError(
                        "timed out sending input", kind="command_timeout", command_sent=True
                    )
                if not chan.send_ready():
                    select.select([], [], [], 0.05)
                    continue
                sent = chan.send(view[:_CHUNK])
                view = view[sent:]
            chan.shutdown_write()  # EOF: `cat > PATH` finishes
        except _NET_ERRORS as exc:
            reason = f"sending input failed: {exc or type(exc).__name__}"
            raise SSHError(reason, kind="protocol", command_sent=True) from None

    @staticmethod
    def _collect(chan: paramiko.Channel, deadline: float, out: _Capped, err: _Capped) -> bool:
        """Drain stdout and stderr together until exit; False on deadline.

        Never a bare recv_exit_status(): it ignores timeouts (paramiko#1815, #1787) and
        deadlocks once unread output fills the window (#448).
        """
        while True:
            got = False
            if chan.recv_ready():
                out.add(chan.recv(_CHUNK))
                got = True
            if chan.recv_stderr_ready():
                err.add(chan.recv_stderr(_CHUNK))
                got = True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if got:
                continue
            if chan.eof_received or chan.closed:  # no more data; only the status is pending
                return chan.status_event.wait(remaining)
            # The channel's pipe is readable on data, EOF or close (both streams). poll(),
            # not select(): a worker holding a fleet's connections has descriptors past
            # FD_SETSIZE (1024), which select() refuses.
            poller = select.poll()
            poller.register(chan.fileno(), select.POLLIN)
            readable = poller.poll(int(min(remaining, 0.25) * 1000) or 1)
            if not readable and chan.exit_status_ready():
                return True  # status came without EOF: nothing more will arrive

    def close(self) -> None:
        _close_quietly(self._transport, self._sock)


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: SSHConnection | None = None


class ConnectionPool:
    """One persistent connection per target per process; a lock per target."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple, _Slot] = {}
        self._pid = os.getpid()

    def _slot(self, target: SSHTarget) -> _Slot:
        with self._lock:
            if os.getpid() != self._pid:  # forked worker child: the parent's sockets are not ours
                self._slots, self._pid = {}, os.getpid()
            key = (target.name, target.address, target.port, target.username)
            return self._slots.setdefault(key, _Slot())

    def run(self, target: SSHTarget, argv_or_script: list[str] | str, **kw) -> CommandResult:
        slot = self._slot(target)
        with slot.lock:
            for _ in range(2):
                conn = slot.conn
                if conn is not None and (conn.target != target or not conn.is_alive()):
                    conn.close()  # new pin/key/timeouts, or the transport died while idle
                    conn = slot.conn = None
                fresh = conn is None
                if fresh:
                    conn = slot.conn = connect(target)
                try:
                    return conn.run(argv_or_script, **kw)
                except SSHError as err:
                    if err.kind in ("timeout", "command_timeout") or not conn.is_alive():
                        conn.close()
                        slot.conn = None
                    # Reopen once, only if the cached connection failed before the command
                    # was sent: a retry must never run a command twice.
                    if fresh or err.command_sent:
                        raise
                    if slot.conn is not None:
                        slot.conn.close()
                        slot.conn = None
            raise AssertionError("unreachable")

    def dropped(self, names: set[str]) -> list[str]:
        """Names among `names` whose pooled connection died while idle (the host closed or
        reset it: rebooting, sshd gone, listener down). Each is closed and forgotten, so it
        is reported once. Costs no traffic: paramiko's reader thread already saw the EOF.
        A slot busy with a command is skipped; that command reports its own failure."""
        with self._lock:
            if os.getpid() != self._pid:
                return []
            slots = [(key[0], slot) for key, slot in self._slots.items() if key[0] in names]
        out = []
        for name, slot in slots:
            if slot.conn is None or not slot.lock.acquire(blocking=False):
                continue
            try:
                if slot.conn is not None and not slot.conn.is_alive():
                    slot.conn.close()
                    slot.conn = None
                    out.append(name)
            finally:
                slot.lock.release()
        return out

    def close_all(self) -> None:
        with self._lock:
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            if slot.conn is not None:
                slot.conn.close()


def generate_client_key() -> tuple[str, str]:
    """(private OpenSSH text, public line) for a new ed25519 key; paramiko cannot generate one."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode() + " nyiops"
