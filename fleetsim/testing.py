"""A fleet in a background thread, for tests and benchmarks.

with running_fleet("demo/fleet.yaml", tmp_path, base_port=0) as fleet:
    fleet.hosts["fw1a"].port, fleet.hosts["fw1a"].host_key
    fleet.inject("fw1a", "down"); fleet.wait_for(lambda f: ...); fleet.heal("fw1a")
    fleet.advance(60)          # move simulated time forward 60 s, in small steps
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from . import ctl, dynamics, faults, keys
from .server import FleetServer


@dataclass
class HostInfo:
    name: str
    port: int
    host_key: str  # "ssh-ed25519 AAAA..."
    address: str = "127.0.0.1"


class RunningFleet:
    def __init__(self, server: FleetServer, loop: asyncio.AbstractEventLoop):
        self.server, self.loop = server, loop
        self.state_dir = server.dir
        self.inventory_path = server.dir / "inventory.yaml"
        self.client_key_path = server.dir / "client_key"
        self.hosts = {
            n: HostInfo(n, p, keys.public_line(server.host_keys[n]))
            for n, p in server.ports.items()
        }
        self.username = keys.OPS_USER

    @property
    def fleet(self):
        """The live state model (read it; change it through call())."""
        return self.server.fleet

    def call(self, fn, *args):
        """Run fn(*args) on the server's loop thread and return its result."""

        async def run():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def _sync(self):
        async def run():
            faults.reconcile(self.server.fleet)
            # always, even when nothing looks dirty: the ticker may be half-way through a
            # sync that opens a listener; this waits for it (the sync holds a lock)
            await self.server.sync_listeners()

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def inject(self, target: str, kind: str, *args) -> None:
        ctl.inject_fault(self.state_dir, target, kind, *args, wait=0)
        self._sync()

    def heal(self, target: str, kind: str | None = None) -> None:
        ctl.heal(self.state_dir, target, kind, wait=0)
        self._sync()

    def advance(self, seconds: float, step: float = 0.25) -> None:
        """Move simulated time forward, stepping the dynamics every ``step`` seconds."""

        def run():
            fleet = self.server.fleet
            n = max(1, min(20000, int(seconds / step)))
            for _ in range(n):
                fleet.clock.skew += seconds / n
                dynamics.advance(fleet, fleet.now())

        self.call(run)
        self._sync()  # a host cut off or back (pf, reboot) opens or closes its listener

    def state(self, host: str) -> dict:
        return self.call(lambda: __import__("copy").deepcopy(self.server.fleet.hosts[host]))

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
        """Poll predicate(self) until true or timeout (real time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(interval)
        return bool(predicate(self))


@contextmanager
def running_fleet(
    spec, state_dir, base_port: int = 0, scale: int = 0, time_scale: float = 1.0, tick: float = 0.05
):
    """Start the fleet in a thread with its own event loop; stop it on exit."""
    ready = threading.Event()
    box: dict = {}

    def main():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def serve():
            server = FleetServer(
                spec,
                state_dir,
                base_port=base_port,
                scale_n=scale,
                time_scale=time_scale,
                tick=tick,
            )
            box["server"] = server
            await server.start()
            ready.set()
            try:
                await server.run_forever()
            finally:
                await server.shutdown()

        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # hand any start failure to the caller's thread
            box["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="fleetsim", daemon=True)
    thread.start()
    ready.wait(120)
    if "error" in box:
        thread.join(5)
        raise box["error"]
    server = box["server"]
    handle = RunningFleet(server, server.loop)
    try:
        yield handle
    finally:
        handle.loop.call_soon_threadsafe(server.stop)
        thread.join(30)
