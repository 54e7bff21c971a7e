"""The "nothing changed" fast path of the poller, and that no change ever slips through it.

A poll of a host whose every section says what the last stored poll's said is stored with
one UPDATE of the host row. These tests prove that structurally (the queries a dispatched
poll runs), and that each observed kind changed on a host in that steady state is stored and
judged by the very next poll.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hosts.models import (
    BackupRun,
    CarpVhid,
    Finding,
    HaproxyServer,
    Host,
    HostFacts,
    Jail,
    MetricSample,
    Mirror,
    StatusEvent,
    ZPoolDevice,
)
from hosts.polling.run import poll_dropped_hosts
from hosts.tasks import poll_host as poll_task
from hosts.tasks import poll_hosts

pytestmark = [pytest.mark.sim, pytest.mark.django_db]

# Loading the claimed host row, then the one UPDATE that stores the unchanged poll.
FAST_PATH_QUERIES = 2


def dispatched(name: str) -> tuple[str, int]:
    """Poll a host as a worker does (claimed, then the task); returns the task's summary and
    how many SQL statements the poll ran."""
    token = str(uuid.uuid4())
    host = Host.objects.get(name=name)
    Host.objects.filter(pk=host.pk).update(
        poll_claim=token, poll_claimed_until=timezone.now() + timedelta(minutes=1)
    )
    with CaptureQueriesContext(connection) as queries:
        summary = poll_task(host.pk, token)
    return summary, len(queries)


def steady(*names: str) -> None:
    """Poll until each host is in the steady state: its next unchanged poll is the fast one."""
    for name in names:
        dispatched(name)
        summary, queries = dispatched(name)
        # A storage host reads its backup jobs for its plan: one query more.
        extra = 1 if "storage" in Host.objects.get(name=name).roles else 0
        assert queries == FAST_PATH_QUERIES + extra, (name, summary)


def findings(kind, **filters):
    return list(Finding.objects.filter(kind=kind, **filters))


def test_an_unchanged_poll_is_one_update_of_the_host_row(fleet):
    dispatched("fw1a")
    facts_before = HostFacts.objects.get(host__name="fw1a").updated_at
    events = StatusEvent.objects.count()
    last_poll = Host.objects.get(name="fw1a").last_poll_at

    summary, queries = dispatched("fw1a")

    host = Host.objects.get(name="fw1a")
    assert "fw1a: ok" in summary
    assert queries == FAST_PATH_QUERIES
    assert host.last_poll_at > last_poll and host.last_success_at == host.last_poll_at
    assert host.poll_claimed_until is None  # the claim is released by the same UPDATE
    assert HostFacts.objects.get(host=host).updated_at == facts_before
    assert StatusEvent.objects.count() == events


def test_a_counter_only_change_takes_the_fast_path_and_is_sampled_once_a_minute(fleet):
    steady("lb1a")
    fleet.advance(20)  # pf and HAProxy counters move; no state does

    _, queries = dispatched("lb1a")
    assert queries == FAST_PATH_QUERIES

    # Once a minute the counters are stored with the metric samples, judged, and nothing
    # else: no event, since no state changed.
    HostFacts.objects.filter(host__name="lb1a").update(
        metrics_sampled_at=timezone.now() - timedelta(seconds=61)
    )
    events = StatusEvent.objects.count()
    samples = MetricSample.objects.filter(host__name="lb1a").count()
    _, queries = dispatched("lb1a")

    assert queries > FAST_PATH_QUERIES
    assert MetricSample.objects.filter(host__name="lb1a").count() > samples
    facts = HostFacts.objects.get(host__name="lb1a")
    assert facts.metrics_sampled_at > timezone.now() - timedelta(seconds=30)
    latest = MetricSample.objects.filter(host__name="lb1a", metric="pf_states").latest("at")
    assert latest.at == facts.metrics_sampled_at and latest.value == facts.pf_states
    assert StatusEvent.objects.count() == events
    _, queries = dispatched("lb1a")
    assert queries == FAST_PATH_QUERIES


def test_a_rule_that_reads_the_clock_is_judged_when_it_is_due_without_any_change(fleet):
    steady("nas1")
    facts = HostFacts.objects.get(host__name="nas1")
    assert facts.judge_due_at > timezone.now()
    HostFacts.objects.filter(pk=facts.pk).update(judge_due_at=timezone.now() - timedelta(seconds=1))

    _, queries = dispatched("nas1")

    facts.refresh_from_db()
    assert queries > FAST_PATH_QUERIES + 1
    assert facts.evaluated_at > timezone.now() - timedelta(seconds=30)
    assert facts.judge_due_at > timezone.now()


def test_a_new_finding_on_an_unreachable_host_is_not_hidden_by_the_fast_path(fleet):
    steady("web2")
    fleet.inject("web2", "down")

    dispatched("web2")

    assert findings("host_unreachable", host__name="web2")
    fleet.heal("web2")
    dispatched("web2")
    assert not findings("host_unreachable", host__name="web2")


def test_a_changed_vhid_state_is_stored_and_judged_in_the_next_poll(fleet):
    steady("fw2a", "fw2b")
    fleet.inject("fw-pair-2", "split-brain")
    assert fleet.wait_for(
        lambda f: {e["state"] for e in f.state("fw2b")["carp"]} == {"MASTER"}, timeout=6
    )

    dispatched("fw2a")
    dispatched("fw2b")

    assert set(CarpVhid.objects.filter(host__name="fw2b").values_list("state", flat=True)) == {
        "MASTER"
    }
    assert StatusEvent.objects.filter(
        host__name="fw2b", subject_type="carp", old="BACKUP", new="MASTER"
    ).exists()
    assert findings("split_brain", cluster__name="fw-pair-2")


def test_pfsync_going_down_is_stored_and_judged_in_the_next_poll(fleet):
    steady("fw1a")
    fleet.inject("fw1a", "pfsync-down")

    dispatched("fw1a")

    assert HostFacts.objects.get(host__name="fw1a").pfsync_syncok == 0
    assert findings("pfsync_down", cluster__name="fw-pair-1")


def test_a_degraded_mirror_is_stored_and_judged_in_the_next_poll(fleet):
    steady("web1")
    fleet.inject("web1", "disk-fail", "ada1")

    dispatched("web1")

    assert Mirror.objects.get(host__name="web1", name="swap").state == "DEGRADED"
    assert findings("mirror_degraded", host__name="web1")


def test_pool_device_errors_are_stored_and_judged_in_the_next_poll(fleet):
    steady("app1")

    def checksum_errors(server):
        server.server.fleet.hosts["app1"]["pools"][0]["vdevs"][0]["devices"][0]["cksum"] = 3

    fleet.call(checksum_errors, fleet)

    dispatched("app1")

    device = ZPoolDevice.objects.get(pool__host__name="app1", name="ada0p4")
    assert device.cksum_errors == 3
    assert findings("device_errors", host__name="app1")


def test_a_stopped_jail_is_stored_and_judged_in_the_next_poll(fleet):
    steady("app1")

    def stop(server):
        jail = server.server.fleet.hosts["app1"]["jails"][0]
        jail["running"], jail["jid"] = False, 0
        return jail["name"]

    name = fleet.call(stop, fleet)

    dispatched("app1")

    assert Jail.objects.get(host__name="app1", name=name).running is False
    assert findings("jail_not_running", host__name="app1")


def test_a_backend_server_going_down_is_stored_and_judged_in_the_next_poll(fleet):
    steady("lb1a")
    fleet.inject("lb1a", "backend-down", "acme-web/web2")
    fleet.advance(30)

    dispatched("lb1a")

    assert HaproxyServer.objects.get(backend__host__name="lb1a", name="web2").status.startswith(
        "DOWN"
    )
    assert findings("member_down", host__name="lb1a")


def test_a_failed_backup_is_stored_and_judged_in_the_next_poll(fleet):
    steady("nas1")
    fleet.inject("nas1", "backup-fail", "acme-web2", "255")

    dispatched("nas1")

    assert BackupRun.objects.filter(job__name="acme-web2", exit_code=255).exists()
    assert findings("backup_failed", dedup_key="backup_failed:job:acme-web2")


def claim(*names: str) -> list[tuple[int, str]]:
    token = str(uuid.uuid4())
    until = timezone.now() + timedelta(minutes=1)
    Host.objects.filter(name__in=names).update(poll_claim=token, poll_claimed_until=until)
    return [(pk, token) for pk in Host.objects.filter(name__in=names).values_list("pk", flat=True)]


@pytest.mark.django_db(transaction=True)  # the batch's poll threads use their own connections
def test_a_batch_polls_its_hosts_side_by_side_and_a_slow_host_holds_only_its_own(fleet, settings):
    # Long enough that the other hosts' polls end first even on a loaded machine.
    settings.NYIOPS_SSH_TIMEOUTS = {"connect": 1.0, "banner": 4.0, "auth": 4.0, "command": 4.0}
    fleet.inject("web2", "slow", "30")
    claims = claim("web1", "web2", "web3", "fw1a")
    stale = (Host.objects.get(name="lb1a").pk, "not-the-current-claim")

    summary = poll_hosts([*claims, stale])

    hosts = {h.name: h for h in Host.objects.filter(name__in=["web1", "web2", "web3", "fw1a"])}
    assert "5 polls (1 stale claims)" in summary
    assert {n for n, h in hosts.items() if h.reachability == "ok"} == {"web1", "web3", "fw1a"}
    assert hosts["web2"].reachability == "unknown"
    assert all(h.poll_claimed_until is None for h in hosts.values())
    # The slow host held one poll thread: the others were stored before its deadline ran out.
    assert max(hosts[n].last_poll_at for n in ("web1", "web3", "fw1a")) < hosts["web2"].last_poll_at
    assert Host.objects.get(name="lb1a").last_poll_at is None


@pytest.mark.django_db(transaction=True)  # the watcher's poll thread uses its own connection
def test_a_cluster_member_that_drops_its_connection_is_polled_at_once(fleet):
    later = timezone.now() + timedelta(hours=1)
    dispatched("fw1a")
    dispatched("web1")  # in no cluster: not watched
    Host.objects.filter(name__in=["fw1a", "web1"]).update(next_poll_at=later)

    fleet.inject("fw1a", "down")
    fleet.inject("web1", "down")

    def fw1a_found_down(_):
        poll_dropped_hosts()  # what the worker's watcher thread does every 0.5 s
        return Host.objects.get(name="fw1a").reachability == "unknown"

    # No dispatcher runs here: the watcher claimed and polled fw1a itself.
    assert fleet.wait_for(fw1a_found_down, timeout=10)
    assert findings("host_unreachable", host__name="fw1a")
    assert Host.objects.get(name="fw1a").poll_claimed_until is None
    web1 = Host.objects.get(name="web1")
    assert web1.next_poll_at == later and web1.reachability == "ok"


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_whose_poll_cannot_start_leaves_the_host_unclaimed(fleet, monkeypatch):
    # An exiting worker's executor refuses new polls: the host must not be held by a claim
    # (a lease of NYIOPS_POLL_LEASE_SECONDS) that no poll will ever release.
    from hosts.polling import run

    dispatched("fw1a")
    fleet.inject("fw1a", "down")
    refused = ThreadPoolExecutor(max_workers=1)
    refused.shutdown()
    monkeypatch.setattr(run, "_urgent_executor", lambda: refused)

    def noticed(_):
        try:
            return bool(poll_dropped_hosts())
        except RuntimeError:  # "cannot schedule new futures after shutdown"
            return True

    assert fleet.wait_for(noticed, timeout=10)
    assert Host.objects.get(name="fw1a").poll_claimed_until is None


@pytest.mark.django_db(transaction=True)
def test_a_dropped_member_held_by_a_queued_batch_is_taken_over_and_polled_at_once(fleet):
    # A busy poller claims hosts seconds before a poll thread reaches them: a failover must
    # not wait in that queue.
    dispatched("fw1a")
    (queued,) = claim("fw1a")  # a batch holds it and has not started it
    fleet.inject("fw1a", "down")

    def fw1a_found_down(_):
        poll_dropped_hosts()
        return Host.objects.get(name="fw1a").reachability == "unknown"

    assert fleet.wait_for(fw1a_found_down, timeout=10)
    assert findings("host_unreachable", host__name="fw1a")
    # The queued batch reaches the host at last: its claim is stale, it polls nothing.
    assert "1 polls (1 stale claims)" in poll_hosts([list(queued)])
    assert Host.objects.get(name="fw1a").poll_claim != queued[1]


@pytest.mark.django_db(transaction=True)
def test_a_dropped_member_whose_poll_runs_in_this_process_keeps_that_polls_claim(fleet):
    from hosts.polling import run

    dispatched("fw1a")
    ((pk, token),) = claim("fw1a")
    with run._POLLING_LOCK:
        run._POLLING[pk] += 1  # a poll thread of this process has started fw1a
    try:
        assert run._claim_dropped(pk, timezone.now()) is None
    finally:
        with run._POLLING_LOCK:
            del run._POLLING[pk]
    assert Host.objects.get(pk=pk).poll_claim == token


def test_a_poll_whose_claim_was_taken_over_stores_nothing(fleet):
    from hosts.polling.run import poll_host

    dispatched("fw1a")
    host = Host.objects.get(name="fw1a")
    before = (host.last_poll_at, StatusEvent.objects.count(), host.reachability)
    fleet.inject("fw1a", "down")  # this poll's news, older than the poll that took over
    Host.objects.filter(pk=host.pk).update(poll_claim="the-watchers-claim")

    outcome = poll_host(host, claim="the-dispatchers-claim")

    assert outcome.status == "superseded"
    host.refresh_from_db()
    assert (host.last_poll_at, StatusEvent.objects.count(), host.reachability) == before
    assert not findings("host_unreachable", host__name="fw1a")
