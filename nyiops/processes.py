"""Starting and stopping nyiops's own processes (fleetsim, a Celery worker or beat, the web
server) as child process groups: the one copy the demo, the benchmarks and the integration
tests share (each used to carry its own). Not used by the running app.

Every child gets its own session (process group), so stop() takes its children with it (a
Celery worker's pool threads or processes, runserver's reloader) and Ctrl-C in the terminal
reaches only the parent, which then stops the children in order.

Must not: import any app (the children are started as commands), or return from stop() with
a child still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def spawn(
    argv: list[str], *, log: Path | None, env: dict | None = None, append: bool = False
) -> subprocess.Popen:
    """Start `argv` in the repo in a new session, stdout and stderr to `log` (or to a pipe
    the caller reads when `log` is None)."""
    # argv is built here from fixed words, paths and numbers, never from user text: no shell.
    if log is None:
        return subprocess.Popen(  # noqa: S603
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
    with open(log, "ab" if append else "wb") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(  # noqa: S603
            argv, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until(
    ready: Callable[[], bool], *, proc: subprocess.Popen, timeout: float, what: str
) -> None:
    """Wait for `ready()`; raise RuntimeError if `proc` exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what}: the process exited ({proc.returncode}) before it was ready"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(0.1)


def fleetsim_argv(spec: Path, state: Path, *, base_port: str = "0", scale: int = 0) -> list[str]:
    argv = [PYTHON, "-m", "fleetsim", "serve", "--spec", str(spec), "--state", str(state)]
    argv += ["--base-port", str(base_port)]
    return argv + (["--scale", str(scale)] if scale else [])


def start_fleetsim(
    spec: Path,
    state: Path,
    *,
    log: Path,
    env: dict | None = None,
    base_port: str = "0",
    scale: int = 0,
    timeout: float = 60,
) -> subprocess.Popen:
    """Serve the fleet of `spec` and wait until it is ready: fleetsim writes `state/ready`
    once every SSH server listens and the inventory file is written."""
    (state / "ready").unlink(missing_ok=True)
    proc = spawn(fleetsim_argv(spec, state, base_port=base_port, scale=scale), log=log, env=env)
    try:
        wait_until((state / "ready").exists, proc=proc, timeout=timeout, what=f"fleetsim ({log})")
    except RuntimeError:
        stop([proc])  # the caller never got it, so it cannot stop it
        raise
    return proc


def celery_argv(command: str, *args: str) -> list[str]:
    """`celery -A nyiops worker|beat ARGS` with this interpreter."""
    return [PYTHON, "-m", "celery", "-A", "nyiops", command, *args]


def worker_argv(queues: str, concurrency: int, *args: str, loglevel: str = "INFO") -> list[str]:
    """A thread-pool worker (the poller is I/O bound) on `queues`."""
    return celery_argv(
        "worker", "--pool", "threads", "--concurrency", str(concurrency), "-Q", queues,
        "--loglevel", loglevel, *args,
    )  # fmt: skip


def web_argv(addr: str) -> list[str]:
    return [PYTHON, "manage.py", "runserver", "--noreload", addr]


def stop(procs: list[subprocess.Popen], timeout: float = 15) -> None:
    """Stop children newest first: SIGTERM each process group, then SIGKILL what is left
    after `timeout`."""
    for proc in reversed(procs):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
