"""docker-compose.yml, checked without a Docker engine: `docker-compose config` validates it
(when the binary exists; CI installs Debian's package), and every service's command, taken
from the file with its arguments, starts outside a container and answers.

Outside a container, a few things must differ, and only these: the executables are this
virtualenv's, the database is a SQLite file and the broker kombu's filesystem transport (no
PostgreSQL/Redis service names resolve here), paths inside volumes (/fleet, /var/lib/nyiops)
are temporary directories, and listening ports are free ones on 127.0.0.1 (a shared machine's
port 8000 or 22000 may be taken; a test must not listen on every interface)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP = 120  # s; generous: a loaded 2-core machine; the test waits for the event itself


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile_cmd() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return json.loads(re.search(r"^CMD (\[.*\])", text, re.M).group(1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def executable(name: str) -> str:
    return sys.executable if name == "python" else str(BIN / name)


def replace_after(argv: list[str], flag: str, value: str) -> list[str]:
    assert flag in argv, (flag, argv)
    i = argv.index(flag)
    return [*argv[: i + 1], value, *argv[i + 2 :]]


def wait_for(predicate, what: str, procs=()):
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if predicate():
            return
        for name, proc, log in procs:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


# --- docker-compose config -------------------------------------------------------------------


def test_docker_compose_config_validates_the_file(tmp_path):
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs docker-compose: apt-get install -y docker-compose")
        pytest.skip("docker-compose is not installed (apt-get install -y docker-compose)")
    env = {
        **os.environ,
        "POSTGRES_PASSWORD": "x",
        "SECRET_KEY": "y" * 60,
        "NYIOPS_SECRET_KEYS": Fernet.generate_key().decode(),
    }

    result = subprocess.run(
        [binary, "--profile", "demo", "-f", str(ROOT / "docker-compose.yml"), "config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "fleetsim" in yaml.safe_load(result.stdout)["services"]


def test_the_fleetsim_service_keeps_to_loopback_in_the_workers_network():
    fleetsim = compose()["services"]["fleetsim"]

    assert fleetsim["network_mode"] == "service:worker"
    assert "--bind" not in fleetsim["command"]  # default 127.0.0.1: the guard stays on


def test_fleetsim_still_refuses_every_other_address(tmp_path):
    serve = [sys.executable, "-m", "fleetsim", "serve", "--spec", "demo/fleet.yaml"]
    result = subprocess.run(
        [*serve, "--state", str(tmp_path / "fleet"), "--bind", "0.0.0.0", "--base-port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "refusing to bind 0.0.0.0" in result.stderr + result.stdout


def test_the_image_leaves_var_out():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert "var/" in ignored and ".env" in ignored


# --- each service's command, outside a container ---------------------------------------------


@pytest.fixture
def service_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    for key, value in compose()["services"]["web"]["environment"].items():
        if key not in {"DATABASE_URL", "REDIS_URL", "CACHE_URL"}:
            env[key] = str(value)
    env |= {
        "SECRET_KEY": "compose-test-" + "k" * 50,
        "NYIOPS_SECRET_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "nyiops.example.net",  # what an operator sets; the probe still works
        "DATABASE_URL": f"sqlite:///{tmp_path / 'nyiops.sqlite3'}",
        "NYIOPS_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PYTHONUNBUFFERED": "1",
    }
    return env


@pytest.fixture
def started(tmp_path):
    procs: list = []

    def start(name, argv, env):
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        procs.append((name, proc, log))
        return proc

    yield start, procs
    for _name, proc, _log in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for _name, proc, _log in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_every_service_command_starts_and_answers(tmp_path, service_env, started):
    start, procs = started
    services = compose()["services"]
    app_services = {n for n, s in services.items() if s.get("image") == "nyiops:latest"}
    assert app_services == {"migrate", "web", "worker", "beat", "fleetsim"}

    # migrate: runs to completion.
    migrate = services["migrate"]["command"]
    result = subprocess.run(
        [executable(migrate[0]), *migrate[1:]],
        cwd=ROOT,
        env=service_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr

    # web: the image's CMD (compose gives web none): gunicorn answers /healthz.
    web_port = free_port()
    web = replace_after(dockerfile_cmd(), "--bind", f"127.0.0.1:{web_port}")
    start("web", [executable(web[0]), *web[1:]], service_env)

    # worker: the compose command; it answers a broadcast ping.
    worker = services["worker"]["command"]
    start(
        "worker", [executable(worker[0]), *worker[1:]], service_env | {"REMAP_SIGTERM": "SIGQUIT"}
    )

    # beat: the compose command with its schedule in a temporary directory; it answers by
    # sending its due sweeps to the broker (the worker may consume them at once, so the
    # evidence is beat's own record of sending).
    beat = replace_after(
        services["beat"]["command"], "--schedule", str(tmp_path / "celerybeat-schedule")
    )
    start("beat", [executable(beat[0]), *beat[1:]], service_env)

    # fleetsim: the compose command with its state in a temporary directory, free ports.
    fleet_state = tmp_path / "fleet"
    fleetsim = replace_after(services["fleetsim"]["command"], "--state", str(fleet_state))
    fleetsim = replace_after(fleetsim, "--base-port", "0")
    start("fleetsim", [executable(fleetsim[0]), *fleetsim[1:]], service_env)

    # web answers the compose file's own healthcheck (plain HTTP to 127.0.0.1, no proxy
    # headers), the probe Docker would run inside the container.
    probe = services["web"]["healthcheck"]["test"]
    assert probe[:2] == ["CMD", "python"] and "127.0.0.1:8000/healthz" in probe[-1]
    probe = [sys.executable, *probe[2:-1], probe[-1].replace(":8000/", f":{web_port}/")]

    def web_answers() -> bool:
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0

    def worker_answers() -> bool:
        ping = subprocess.run(
            [executable("celery"), "-A", "nyiops", "inspect", "ping", "--timeout", "5"],
            cwd=ROOT,
            env=service_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return "pong" in ping.stdout

    def beat_published() -> bool:
        return "Scheduler: Sending due task" in (tmp_path / "beat.log").read_text()

    def fleet_answers() -> bool:
        if not (fleet_state / "ready").exists():
            return False
        inventory = yaml.safe_load((fleet_state / "inventory.yaml").read_text())
        port = inventory["hosts"][0]["ssh_port"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            return s.recv(64).startswith(b"SSH-2.0-")

    wait_for(web_answers, "web /healthz", procs)
    wait_for(fleet_answers, "fleetsim's SSH banner", procs)
    wait_for(beat_published, "beat to publish its sweep", procs)
    wait_for(worker_answers, "the worker to answer a ping", procs)
