"""HAProxy drain / undrain on both LB peers against the simulated fleet (RELIABILITY E6)."""

import pytest

from hosts.models import HaproxyServer, Host
from operations import actions, engine, services
from tests.integration.conftest import poll

pytestmark = [pytest.mark.sim, pytest.mark.django_db(transaction=True)]


def status(lb, server, backend="acme-web"):
    return HaproxyServer.objects.get(
        backend__host__name=lb, backend__name=backend, name=server, gone_at__isnull=True
    ).status


def scur(lb, server, backend="acme-web"):
    return HaproxyServer.objects.get(
        backend__host__name=lb, backend__name=backend, name=server, gone_at__isnull=True
    ).scur


def end_sessions_in_the_fleet(fleet, lb, server):
    """The server's open sessions end on `lb`, its status unchanged: only a counter moves."""

    def end(hosts):
        for backend in hosts[lb]["haproxy"]["backends"]:
            for s in backend["servers"]:
                if s["name"] == server:
                    s["base_sessions"] = 0

    fleet.call(end, fleet.fleet.hosts)


def run(kind, target, by, **params):
    op = services.request_operation(kind, target, params, by=by)
    services.approve(op, by=by)
    engine.run(op.pk)
    op.refresh_from_db()
    return op


def test_drain_puts_the_server_in_maint_on_both_peers_and_undrain_brings_it_back(
    quick_drains, nora
):
    op = run("haproxy-drain", "acme-web/web1", nora)

    assert op.state == "succeeded", op.result
    assert status("lb1a", "web1").startswith("MAINT")
    assert status("lb1b", "web1").startswith("MAINT")
    keys = [s.key for s in op.steps.order_by("position")]
    assert keys == [
        "drain@lb1a",
        "drain@lb1b",
        "sessions",
        "maint@lb1a",
        "maint@lb1b",
        "save@lb1a",
        "save@lb1b",
    ]
    saved = quick_drains.state("lb1a")["files"]["/var/db/haproxy/server-state"]
    assert "web1" in str(saved)

    back = run("haproxy-undrain", "acme-web/web1", nora)
    assert back.state == "succeeded", back.result
    assert status("lb1a", "web1").startswith("UP") and status("lb1b", "web1").startswith("UP")


def test_the_drain_waits_on_this_moments_sessions_not_the_last_minutes_sample(polled_fleet):
    lb = Host.objects.get(name="lb1a")
    engine.refresh([lb.pk])  # a fresh once-a-minute sample of the counters
    assert scur("lb1a", "web1") > 0
    end_sessions_in_the_fleet(polled_fleet, "lb1a", "web1")

    engine.refresh([lb.pk])
    assert scur("lb1a", "web1") > 0  # a poll keeps the sample until the next one is due

    engine.refresh([lb.pk], counters=True)  # what the drain's sessions step asks for
    assert scur("lb1a", "web1") == 0
    assert "sessions_zero" in actions.get("haproxy-drain").counter_verifications


def test_capacity_guard_refuses_a_drain_that_leaves_too_few_servers_up(quick_drains, nora):
    assert run("haproxy-drain", "acme-web/web1", nora).state == "succeeded"

    with pytest.raises(services.PlanRefused) as refused:
        services.request_operation("haproxy-drain", "acme-web/web2", {}, by=nora)

    assert "1 of 3 servers stay UP on lb1a (need 2" in str(refused.value)
    assert status("lb1a", "web2").startswith("UP")


def test_drain_is_refused_when_a_member_is_already_down(polled_fleet, nora):
    # globex-app has two servers and gweb2 is DOWN: draining gweb1 would leave none.
    poll("lb2a", "lb2b")
    with pytest.raises(services.PlanRefused) as refused:
        services.request_operation("haproxy-drain", "globex-app/gweb1", {}, by=nora)
    assert "0 of 2 servers stay UP" in str(refused.value)


def test_unknown_server_names_the_field(polled_fleet, nora):
    with pytest.raises(services.ValidationError) as bad:
        services.request_operation("haproxy-drain", "acme-web/web9", {}, by=nora)
    assert "target" in bad.value.message_dict
    with pytest.raises(services.ValidationError) as bad:
        services.request_operation("haproxy-drain", "acme-web/web1;reboot", {}, by=nora)
    assert bad.value.message_dict["target"] == ["give the server as BACKEND/SERVER"]
