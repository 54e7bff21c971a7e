"""Real SSH (and deliberately broken TCP) servers on 127.0.0.1 for tests/unit/test_ssh.py.

The SSH server is asyncssh on its own event loop in a background thread. It runs each exec
request through a real local `sh -c` (so the client's `env LC_ALL=C timeout -k …` wrapper is
exercised) and, like sshd without a pty, does not kill the process when the channel closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from pathlib import Path

import asyncssh


class SSHServer:
    def __init__(self, host_key: asyncssh.SSHKey, authorized_public_line: str, *, auth_delay=0.0):
        self.host_key = host_key
        self.authorized = asyncssh.import_public_key(authorized_public_line)
        self.auth_delay = auth_delay
        self.connections = 0  # TCP connections accepted
        self.auth_attempts = 0  # userauth requests seen (begin_auth)
        self.closed = 0  # connections lost/closed
        self.commands: list[str] = []
        self.pids: list[int] = []
        self._procs: list[asyncio.subprocess.Process] = []
        self._tasks: set[asyncio.Task] = set()
        self._conns: list[asyncssh.SSHServerConnection] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._acceptor = self._call(self._start())
        self.port = self._acceptor.sockets[0].getsockname()[1]

    @property
    def host_public_line(self) -> str:
        return self.host_key.export_public_key().decode().strip()

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self):
        outer = self

        class Handler(asyncssh.SSHServer):
            def connection_made(self, conn):
                outer.connections += 1
                outer._conns.append(conn)

            def connection_lost(self, exc):
                outer.closed += 1

            async def begin_auth(self, username):
                outer.auth_attempts += 1
                if outer.auth_delay:
                    await asyncio.sleep(outer.auth_delay)
                return True

            def password_auth_supported(self):
                return False

            def public_key_auth_supported(self):
                return True

            def validate_public_key(self, username, key):
                return key.public_data == outer.authorized.public_data

        return await asyncssh.create_server(
            Handler,
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            process_factory=self._handle,
            encoding=None,
            allow_scp=False,
        )

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        self.commands.append(process.command)
        self._tasks.add(asyncio.current_task())
        proc = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            process.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # so close() can find and kill everything it started
        )
        self.pids.append(proc.pid)
        self._procs.append(proc)

        async def pump(src, dst):
            while chunk := await src.read(65536):
                dst.write(chunk)
                await dst.drain()  # honours the client's window: flow control is real

        async def feed():  # the client's stdin, closed at its EOF (`cat > FILE` ends there)
            try:
                while chunk := await process.stdin.read(65536):
                    proc.stdin.write(chunk.encode() if isinstance(chunk, str) else chunk)
                    await proc.stdin.drain()
            except (asyncssh.Error, OSError, BrokenPipeError):
                pass
            proc.stdin.close()

        feeder = asyncio.ensure_future(feed())
        try:
            await asyncio.gather(
                pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)
            )
            process.exit(await proc.wait())
        except (asyncssh.Error, OSError, BrokenPipeError):
            await proc.wait()  # the client went away; leave the process to timeout(1)
        finally:
            feeder.cancel()

    def drop_connections(self) -> None:
        async def drop():
            for conn in self._conns:
                conn.close()

        self._call(drop())

    def close(self) -> None:
        async def stop():
            self._acceptor.close()
            for conn in self._conns:
                conn.abort()
            for proc in self._procs:  # the test is over: no process outlives the server
                _kill_session(proc.pid)
                await proc.wait()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.sleep(0.05)  # let asyncssh finish its own connection teardown

        self._call(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def _kill_session(sid: int) -> None:
    """SIGKILL every process in session `sid` (timeout(1) moves its child to its own process
    group, so killpg on the session leader would miss it). Linux /proc only."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # field 6 of stat(5): session id
                os.kill(int(stat.parent.name), signal.SIGKILL)


class RawServer:
    """TCP listener that accepts and then sends `greeting` (maybe nothing) and stalls.

    Records whether each accepted socket was later closed by the client.
    """

    def __init__(self, greeting: bytes = b""):
        self.greeting = greeting
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.client_closed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conns: list[socket.socket] = []
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = self.sock.accept()
                conn.settimeout(0.05)
                conn.sendall(self.greeting)
                conns.append(conn)
                self.accepted += 1
            for conn in list(conns):
                try:
                    data = conn.recv(4096)  # whatever the client sends is ignored
                except TimeoutError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.client_closed += 1
                    conns.remove(conn)
                    conn.close()
        for conn in conns:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class Blackhole:
    """A listener whose accept backlog is full, so new SYNs are dropped and connect() hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self._fill = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", self.port))
            self._fill.append(s)

    def close(self) -> None:
        for s in self._fill:
            s.close()
        self.sock.close()


def closed_port() -> int:
    """A port with nothing listening (connect gets RST)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StallingParamikoServer:
    """A paramiko server that authenticates anyone, then stalls before answering either the
    channel-open (`stall="open"`) or the exec request (`stall="exec"`): a host "alive enough to
    accept an SSH connection but not enough to accept commands" (paramiko#62)."""

    def __init__(self, host_private_key: str, stall: str):
        import io

        import paramiko

        self._paramiko = paramiko
        self.host_key = paramiko.Ed25519Key.from_private_key(io.StringIO(host_private_key))
        self.stall = stall
        self.release = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._transports: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def host_public_line(self) -> str:
        return f"{self.host_key.get_name()} {self.host_key.get_base64()}"

    def _serve(self) -> None:
        paramiko, outer = self._paramiko, self

        class Iface(paramiko.ServerInterface):
            def get_allowed_auths(self, username):
                return "publickey"

            def check_auth_publickey(self, username, key):
                return paramiko.AUTH_SUCCESSFUL

            def check_channel_request(self, kind, chanid):
                if outer.stall == "open":
                    outer.release.wait(10)
                return paramiko.OPEN_SUCCEEDED

            def check_channel_exec_request(self, channel, command):
                if outer.stall == "exec":
                    outer.release.wait(10)
                return False

        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            transport.start_server(server=Iface())
            self._transports.append(transport)

    def close(self) -> None:
        self.release.set()
        self._stop.set()
        self._thread.join(5)
        for transport in self._transports:
            transport.close()
        self.sock.close()
