"""When an unchanged host must be judged again: the next moment a rule that reads the clock
can change its verdict (hosts.health.store.next_judgement_due). The poller's fast path
skips judging until then, so a deadline computed late would be a finding raised late."""

from datetime import UTC, datetime, timedelta

from hosts.health.backups import evaluate_backup
from hosts.health.host import evaluate_host
from hosts.health.state import BackupState, HostState, PoolState
from hosts.health.store import JUDGE_AT_LEAST_EVERY, STALE_AGE_STEP, next_judgement_due
from hosts.health.verdicts import DEFAULT_THRESHOLDS as T

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def pool(finished_at):
    return PoolState("zroot", "ONLINE", 30, "scrub", "finished", 100.0, finished_at)


def host(*pools):
    return HostState(id=1, name="web1", reachability="ok", last_success_at=NOW, pools=pools)


def backup(last_success_at, schedule_minutes=60 * 24):
    return BackupState(
        id=1, name="acme-web2", source_id=2, source="web2", target_id=1,
        schedule_minutes=schedule_minutes, created_hint=NOW - timedelta(days=30),
        last_exit_code=0, last_finished_at=last_success_at, last_error="",
        last_snapshot_verified=True, last_success_at=last_success_at,
    )  # fmt: skip


def kinds(findings):
    return {f.kind for f in findings}


def test_a_host_with_nothing_that_ages_is_judged_again_at_the_safety_net_interval():
    assert next_judgement_due(host(), [], NOW, T) == NOW + JUDGE_AT_LEAST_EVERY


def test_a_scrub_about_to_grow_too_old_is_judged_the_moment_it_does():
    finished = NOW - timedelta(days=T.scrub_max_age_days) + timedelta(minutes=5)
    h = host(pool(finished))

    due = next_judgement_due(h, [], NOW, T)

    assert NOW < due <= NOW + timedelta(minutes=5, seconds=1)
    assert "scrub_overdue" not in kinds(evaluate_host(h, due - timedelta(seconds=2), T))
    assert "scrub_overdue" in kinds(evaluate_host(h, due, T))


def test_a_backup_about_to_go_stale_is_judged_the_moment_it_does():
    last = NOW - timedelta(hours=35, minutes=50)  # stale after 1.5 x 24 h = 36 h
    b = backup(last)

    due = next_judgement_due(host(), [b], NOW, T)

    assert due <= NOW + timedelta(minutes=10, seconds=1)
    assert "backup_stale" not in kinds(evaluate_backup(b, due - timedelta(seconds=2), T))
    assert "backup_stale" in kinds(evaluate_backup(b, due, T))


def test_a_stale_backup_is_judged_again_as_often_as_its_message_states_its_age():
    b = backup(NOW - timedelta(hours=40))

    assert next_judgement_due(host(), [b], NOW, T) == NOW + STALE_AGE_STEP
