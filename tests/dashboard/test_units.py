"""Pure pieces of the dashboard: verdicts, SVG charts and template filters (no database)."""

from datetime import UTC, datetime, timedelta

from hosts.dashboard import charts
from hosts.dashboard.clusters import MemberView, failover_verdict, vhid_verdicts
from hosts.health.verdicts import Verdict, pfsync_verdict
from hosts.templatetags.dashboard import badge, bytesize, duration, thousands

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


IN_SYNC = Verdict("ok", "in sync")


def member(name, *, fresh="ok", states=1000, sync=IN_SYNC, host_id=None):
    return MemberView(
        host_id or hash(name), name, "primary", fresh, "", T0, states, sync, "r", 1, 0
    )


def test_failover_keeps_connections_only_with_pfsync_in_sync_and_similar_tables():
    assert failover_verdict([member("a"), member("b", states=980)]).tone == "ok"
    unsynced = failover_verdict([member("a"), member("b", sync=Verdict("critical", "not in sync"))])
    assert unsynced.tone == "critical" and "not in sync on b" in unsynced.text
    diverged = failover_verdict([member("a", states=10000), member("b", states=5000)])
    assert diverged.tone == "warning" and "50%" in diverged.text


def test_failover_verdict_is_unknown_when_a_member_is_stale():
    verdict = failover_verdict([member("a"), member("b", fresh="stale")])

    assert verdict.tone == "unknown" and "no fresh data from b" in verdict.text


def test_vhid_verdicts_find_split_brain_no_master_and_drift():
    a, b = member("a", host_id=1), member("b", host_id=2)
    rows = {
        1: [("em0", 1, "MASTER", 1, ["192.0.2.1/24"]), ("em0", 2, "BACKUP", 1, [])],
        2: [("em0", 1, "MASTER", 1, ["192.0.2.1/25"]), ("em0", 2, "BACKUP", 1, [])],
    }

    views, drift = vhid_verdicts([a, b], rows)

    assert views[0].verdict.text == "split brain: MASTER on a, b"
    assert views[1].verdict == Verdict("critical", "no MASTER")
    assert "vhid 1: VIP prefixes differ" in drift


def test_line_chart_escapes_labels_and_uses_no_inline_style():
    svg = charts.line_chart(
        [charts.Series("<img src=x onerror=alert(1)>", [(T0, 1), (T0 + timedelta(minutes=5), 3)])],
        title="states",
    )

    assert "<img" not in svg and "&lt;img" in svg
    assert "style=" not in svg and "<svg" in svg and "polyline" in svg


def test_empty_chart_says_so_in_words():
    assert "no samples yet" in charts.line_chart([], title="pf states")


def test_timeline_puts_both_members_on_one_axis_with_shapes_per_tone():
    svg = charts.timeline(
        [
            ("fw1a", [charts.Mark(T0, "vhid 1: MASTER→BACKUP", "info")]),
            ("fw1b", [charts.Mark(T0 + timedelta(seconds=3), "vhid 1: BACKUP→MASTER", "ok")]),
        ],
        title="Failover",
        start=T0,
        end=T0 + timedelta(minutes=1),
    )

    assert "fw1a" in svg and "fw1b" in svg and "▲" in svg and "●" in svg
    assert "2 events" in svg


def test_bar_chart_marks_failed_runs_with_a_cross_not_only_colour():
    svg = charts.bar_chart([("run1", 10, "ok"), ("run2", 5, "critical")], title="Duration")

    assert "✖" in svg and "tone-critical" in svg


def test_badges_carry_an_icon_and_a_word_and_escape_host_text():
    html = badge('"><script>', "x")
    assert "✔" in badge("MASTER") and "MASTER" in badge("MASTER")
    assert "✖" in badge("FAULTED")
    assert "?" in badge("weird-state")
    assert "<script>" not in badge('"><script>') and "x" in html


def test_humanized_numbers():
    assert duration(3725) == "1h 2m" and duration(75) == "1m 15s" and duration(None) == "—"
    assert bytesize(1536) == "1.5 KiB" and bytesize(5 * 2**30) == "5.0 GiB"
    assert thousands(12000) == "12,000" and thousands(None) == "—"


def test_pfsync_of_a_member_without_fresh_data_is_shown_as_last_seen():
    stale = pfsync_verdict(True, 1, "unreachable")

    assert (stale.tone, stale.text) == ("unknown", "in sync, last seen")
    assert pfsync_verdict(True, 1, "ok").tone == "ok"
    assert pfsync_verdict(True, 0).text == "not in sync"
