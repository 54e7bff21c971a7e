"""One asyncssh server per host, all in one process and one event loop.

Exec requests and the sftp subsystem only (no shell, pty, other subsystems or forwarding),
public-key login for the operations user. A ticker re-reads faults.json, advances the
dynamics, opens/closes listeners for `down`, `hostkey-change`, reboots and pf cut-offs,
and saves changed hosts.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import socket
from pathlib import Path

import asyncssh
from asyncssh.stream import SSHServerStreamSession

from . import commands, dynamics, faults, inventory, keys, scale
from .sftp import VfsSFTPServer
from .shell import needs_stdin, timeout_of
from .spec import load_spec
from .state import Fleet, atomic_write, read_json

log = logging.getLogger("fleetsim")
# asyncssh logs every connection at INFO: far too chatty for a 1,000-host fleet
logging.getLogger("asyncssh").setLevel(logging.WARNING)
SERVER_VERSION = "OpenSSH_9.7"
SAVE_EVERY = 0.5


class ServeError(RuntimeError):
    pass


def free_port(bind: str) -> int:
    with socket.socket() as s:
        s.bind((bind, 0))
        return s.getsockname()[1]


def resolve_ports(state_dir: Path, names: list[str], base_port: int) -> dict:
    """base-port + index (index from 1, in spec order); with base_port 0, the ports
    persisted in ports.json are reused and new hosts get 0 (the kernel picks at listen)."""
    if base_port:
        return {n: base_port + i for i, n in enumerate(names, 1)}
    saved = read_json(state_dir / "ports.json", {})
    return {n: saved.get(n, 0) for n in names}


class HostServer(asyncssh.SSHServer):
    def __init__(self, fleet_server: FleetServer, name: str):
        self.fs, self.name = fleet_server, name
        self.conn = None

    def connection_made(self, conn):
        self.conn = conn
        self.fs.conns.setdefault(self.name, set()).add(conn)

    def connection_lost(self, exc):
        self.fs.conns.get(self.name, set()).discard(self.conn)

    async def begin_auth(self, username):
        delay = self.fs.slow(self.name)
        if delay:
            await asyncio.sleep(delay)  # `slow`: the TCP connection is accepted, then stalls
        return True

    def password_auth_supported(self):
        return False

    def kbdint_auth_supported(self):
        return False

    def public_key_auth_supported(self):
        return True

    def validate_public_key(self, username, key):
        if self.fs.fleet.host_faults(self.name, "auth-fail"):
            return False
        return username == keys.OPS_USER and key.public_data == self.fs.client_pub.public_data

    def session_requested(self):
        return ExecSession(self.fs, self.name)


class ExecSession(asyncssh.SSHServerSession):
    def __init__(self, fleet_server: FleetServer, name: str):
        self.fs, self.name = fleet_server, name
        self.chan = None
        self.command = None
        self.stdin: list[str] = []
        self.eof = asyncio.Event()
        self.sftp = None  # the stream session serving the sftp subsystem, when asked

    def data_received(self, data, datatype):
        if self.sftp is not None:
            self.sftp.data_received(data, datatype)
            return
        self.stdin.append(data)

    def eof_received(self):
        if self.sftp is not None:
            return self.sftp.eof_received()
        self.eof.set()
        return True  # half-close: the output still goes back after the client's EOF

    def connection_lost(self, exc):
        if self.sftp is not None:
            self.sftp.connection_lost(exc)

    def pause_writing(self):
        if self.sftp is not None:
            self.sftp.pause_writing()

    def resume_writing(self):
        if self.sftp is not None:
            self.sftp.resume_writing()

    def connection_made(self, chan):
        self.chan = chan
        self.conn = chan.get_connection()

    def pty_requested(self, term_type, term_size, term_modes):
        return False

    def shell_requested(self):
        return False

    def subsystem_requested(self, subsystem):
        if subsystem != "sftp":
            return False
        # SFTP on the host's virtual filesystem: asyncssh's stream session runs the protocol;
        # this session hands it every later callback
        fleet = self.fs.fleet
        self.sftp = SSHServerStreamSession(
            None, lambda chan: VfsSFTPServer(chan, fleet, self.name), sftp_version=3
        )
        self.sftp.connection_made(self.chan)
        return self.sftp.subsystem_requested(subsystem)

    def exec_requested(self, command):
        self.command = command
        return True

    def session_started(self):
        if self.sftp is not None:
            self.sftp.session_started()
            return
        task = asyncio.ensure_future(self._run())
        self.fs.tasks.add(task)
        task.add_done_callback(self.fs.tasks.discard)

    async def _run(self):
        delay = self.fs.slow(self.name)
        if delay:
            await asyncio.sleep(delay)
        command = self.command or ""
        if needs_stdin(command):
            # like sshd's pipe: the reader gets everything the client sent, up to its EOF
            await self.eof.wait()
        fleet = self.fs.fleet
        out, err, rc, event = commands.run_session(fleet, self.name, command, "".join(self.stdin))
        if event == "drop":  # drop-after-command: it ran, and the client hears nothing
            self.conn.abort()
            return
        cut_off = fleet.listeners_dirty and not fleet.reachable(self.name)
        if fleet.listeners_dirty:
            # stop accepting before answering, so no new connection slips in
            await self.fs.sync_listeners(spare=self.conn)
        try:
            if out:
                self.chan.write(out)
            if err:
                self.chan.write_stderr(err)
            if event == "hang":
                # hang-command: only the `timeout` wrapping the command line ends it (124)
                limit = timeout_of(command)
                if limit is None:
                    return  # never answers; the client gives up and closes
                await asyncio.sleep(limit / fleet.clock.scale)
            self.chan.exit(rc)
        except (OSError, asyncssh.Error, BrokenPipeError) as exc:
            log.debug("%s: client went away: %s", self.name, exc)
        if cut_off:
            # this command cut its host off (pf): the session ends once it has its answer
            self.conn.close()


class FleetServer:
    def __init__(
        self,
        spec_source,
        state_dir,
        base_port: int = 22000,
        bind: str = "127.0.0.1",
        scale_n: int = 0,
        time_scale: float = 1.0,
        tick: float = 0.1,
    ):
        if bind not in ("127.0.0.1", "localhost") and not bind.startswith("127."):
            raise ServeError(f"refusing to bind {bind}: fleetsim serves loopback only")
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.dir / "server.lock", "a")  # noqa: SIM115 - held while serving
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise ServeError(f"another fleetsim is serving {self.dir}") from None
        spec = load_spec(spec_source)
        if scale_n:
            scale.extend(spec, scale_n)
        inventory.write_topology(self.dir, spec)
        self.spec, self.bind, self.tick = spec, bind, tick
        (self.dir / "ready").unlink(missing_ok=True)
        self.fleet = Fleet(spec, self.dir, time_scale)
        names = [h["name"] for h in spec["hosts"]]
        self.host_keys = keys.host_keys(self.dir, names)
        self.client_pub = keys.client_key(self.dir)
        self.ports = resolve_ports(self.dir, names, base_port)
        self.acceptors: dict[str, tuple] = {}  # name -> (acceptor, key id)
        self.conns: dict[str, set] = {}
        self.tasks: set = set()
        self._stop = None
        self._last_save = 0.0
        self._sync_lock = asyncio.Lock()

    def slow(self, name: str) -> float:
        return max((float(f["args"][0]) for f in self.fleet.host_faults(name, "slow")), default=0.0)

    def wanted_key(self, name: str):
        if self.fleet.host_faults(name, "hostkey-change"):
            return "alt", keys.alt_host_key(self.dir, name)
        return "main", self.host_keys[name]

    async def _listen(self, name: str) -> None:
        tag, key = self.wanted_key(name)
        acceptor = await asyncssh.create_server(
            lambda: HostServer(self, name),
            self.bind,
            self.ports[name],
            server_host_keys=[key],
            server_version=SERVER_VERSION,
            allow_pty=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=30,
            reuse_address=True,
        )
        self.ports[name] = acceptor.get_port()  # the kernel's choice when the port was 0
        self.acceptors[name] = (acceptor, tag)

    async def _close(self, name: str, spare=None) -> None:
        acceptor, _ = self.acceptors.pop(name)
        acceptor.close()
        for conn in list(self.conns.get(name, ())):
            if conn is not spare:
                conn.abort()  # a host that goes down drops its sessions too
        await acceptor.wait_closed()

    async def sync_listeners(self, spare=None) -> None:
        """Open/close listeners as the hosts' reachability says; ``spare`` is a connection
        to leave open (the session that cut its own host off still gets its answer)."""
        # the ticker, a session that cut its host off and the test API may all ask at once
        async with self._sync_lock:
            await self._sync_listeners(spare)

    async def _sync_listeners(self, spare) -> None:
        self.fleet.listeners_dirty = False
        for name in self.fleet.hosts:
            want = self.fleet.reachable(name)
            have = self.acceptors.get(name)
            if have and (not want or have[1] != self.wanted_key(name)[0]):
                await self._close(name, spare)
                have = None
            if want and not have:
                await self._listen(name)

    def step(self) -> None:
        """Faults, then dynamics; the caller re-syncs listeners when faults changed."""
        dynamics.advance(self.fleet, self.fleet.now())

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        faults.reconcile(self.fleet)
        self.step()
        await self.sync_listeners()
        for name, port in self.ports.items():
            if not port:  # down since before its first start: reserve a port anyway
                self.ports[name] = free_port(self.bind)
        atomic_write(self.dir / "ports.json", json.dumps(self.ports))
        self.fleet.save()
        host_keys = {n: keys.public_line(k) for n, k in self.host_keys.items()}
        inventory.write(self.dir, inventory.build(self.spec, self.ports, host_keys, self.bind))
        atomic_write(self.dir / "ready", f"{len(self.ports)}\n")

    def banner(self) -> str:
        ports = sorted(self.ports.values())
        contiguous = ports == list(range(ports[0], ports[0] + len(ports)))
        shown = f"{ports[0]}-{ports[-1]}" if contiguous else ",".join(map(str, ports))
        return f"fleetsim: serving {len(ports)} hosts on {self.bind}:{shown}; state {self.dir}"

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            applied = faults.reconcile(self.fleet)
            if applied or self.fleet.listeners_dirty:
                await self.sync_listeners()
            self.step()
            # A fault just applied is saved at once: `ctl` waits for its sequence number in
            # fleet.json, and a test or bench times the fault from its return.
            if applied or loop.time() - self._last_save >= SAVE_EVERY:
                self.fleet.save()
                self._last_save = loop.time()
            try:
                await asyncio.wait_for(self._stop.wait(), self.tick)
            except TimeoutError:
                continue

    async def shutdown(self) -> None:
        for name in list(self.acceptors):
            await self._close(name)
        for t in list(self.tasks):
            t.cancel()
        await asyncio.sleep(0.05)  # let the aborted sessions' tasks (sftp) wind down
        self.fleet.save()
        (self.dir / "ready").unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        """Give up the state directory (closing the lock file releases the flock)."""
        self._lock.close()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
