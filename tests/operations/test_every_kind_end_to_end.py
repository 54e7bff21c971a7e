"""Every kind end to end from the web pages and from the CLI, against the simulated fleet:
plan as one person, approve as another, run as the worker does."""

import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from operations import engine, services
from operations.models import Operation
from tests.otp import step_up

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


def pf_candidate(fleet):
    return fleet.state("fw1a")["files"]["/etc/pf.conf"] + "pass in quick on igb1 proto tcp\n"


# kind, target, params (fleet -> dict), the states it may end this run in
KINDS = [
    ("carp-maintenance", "fw-pair-1", lambda f: {"node": "fw1a"}, {"succeeded"}),
    ("haproxy-drain", "acme-web/web2", lambda f: {}, {"succeeded"}),
    ("haproxy-undrain", "acme-web/web2", lambda f: {}, {"succeeded"}),
    ("pf-push", "fw-pair-1", lambda f: {"ruleset": pf_candidate(f)}, {"verifying"}),
    ("disk-replace", "nas1", lambda f: {"mirror": "swap", "new": "da0p3"}, {"succeeded"}),
    ("backup-now", "acme-web1", lambda f: {}, {"succeeded"}),
]


def run_as_worker(fleet, pk):
    """engine.run in a thread while the simulated clock moves (rebuilds, backups)."""
    done = threading.Event()

    def work():
        try:
            engine.run(pk)
        finally:
            connection.close()
            done.set()

    threading.Thread(target=work).start()
    while not done.wait(0.2):
        fleet.advance(30)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(services, "_send", lambda pk: None)


@pytest.mark.parametrize(("kind", "target", "params", "states"), KINDS, ids=[k[0] for k in KINDS])
def test_from_the_web(polled_fleet, nora, sam, kind, target, params, states):
    planner, approver = Client(), Client()
    planner.force_login(nora)
    approver.force_login(sam)
    step_up(approver, sam)  # the risky kinds need a recent re-auth to approve; harmless for others
    form = {"kind": kind, "target": target} | {f"p_{k}": v for k, v in params(polled_fleet).items()}
    planned = planner.post(reverse("operations:plan"), form)
    assert planned.status_code == 302, planned.content.decode()[-2000:]
    op = Operation.objects.get()
    approver.post(reverse("operations:approve", args=[op.pk]))
    op.refresh_from_db()
    assert op.state == "approved"

    run_as_worker(polled_fleet, op.pk)

    op.refresh_from_db()
    assert op.state in states, op.result
    page = planner.get(reverse("operations:detail", args=[op.pk])).content.decode()
    assert op.get_state_display() in page


@pytest.mark.parametrize(("kind", "target", "params", "states"), KINDS, ids=[k[0] for k in KINDS])
def test_from_the_cli(polled_fleet, nora, sam, kind, target, params, states, tmp_path):
    args = []
    for key, value in params(polled_fleet).items():
        if key == "ruleset":
            path = tmp_path / "pf.conf"
            path.write_text(value)
            args += ["--param", f"file={path}"]
        else:
            args += ["--param", f"{key}={value}"]
    out = StringIO()
    call_command(
        "operations", "plan", kind, target, "--user", "nora-noc", "--json", *args, stdout=out
    )
    pk = json.loads(out.getvalue())["id"]
    call_command("operations", "approve", str(pk), "--user", "sam-noc", stdout=StringIO())

    run_as_worker(polled_fleet, pk)

    shown = StringIO()
    call_command("operations", "show", str(pk), "--json", stdout=shown)
    result = json.loads(shown.getvalue())
    assert result["state"] in states, result["result"]
    assert result["steps"] and result["steps"][0]["argv"]  # the exact commands, audited
