"""Pure schedule, escalation and grouping maths: no database."""

import datetime as dt

from alerts import escalation, grouping, oncall

UTC = dt.UTC
ROT = oncall.Rotation(
    members=(1, 2, 3),
    start_date=dt.date(2026, 11, 2),
    handoff_time=dt.time(9, 0),
    rotation_days=7,
    timezone="UTC",
)


def at(day, hour=12, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_weekly_rotation_hands_off_at_the_handoff_time():
    assert oncall.on_call(ROT, [], at(2, 8, 59)) == 3  # still the previous week's person
    assert oncall.on_call(ROT, [], at(2, 9, 0)) == 1
    assert oncall.on_call(ROT, [], at(9, 8, 59)) == 1
    assert oncall.on_call(ROT, [], at(9, 9, 0)) == 2
    assert oncall.on_call(ROT, [], at(23, 9, 0)) == 1  # wraps around


def test_secondary_is_the_next_person_in_the_rotation():
    assert oncall.on_call(ROT, [], at(3), level=1) == 2
    assert oncall.on_call(ROT, [], at(17), level=1) == 1


def test_handoff_keeps_local_wall_clock_time_across_daylight_saving():
    rot = oncall.Rotation(
        members=(1, 2),
        start_date=dt.date(2026, 10, 19),
        handoff_time=dt.time(9, 0),
        timezone="Europe/Amsterdam",
    )
    # CEST (UTC+2) before 25 October, CET (UTC+1) after: 09:00 local both times.
    assert oncall.handoff_at(rot, 0) == dt.datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    assert oncall.handoff_at(rot, 1) == dt.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert oncall.on_call(rot, [], dt.datetime(2026, 10, 26, 7, 30, tzinfo=UTC)) == 1
    assert oncall.on_call(rot, [], dt.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)) == 2


def test_override_replaces_the_primary_only_while_it_lasts():
    cover = oncall.Override(user_id=9, replaces_id=None, starts_at=at(3, 18), ends_at=at(4, 6))
    assert oncall.on_call(ROT, [cover], at(3, 20)) == 9
    assert oncall.on_call(ROT, [cover], at(4, 6)) == 1
    assert oncall.on_call(ROT, [cover], at(3, 20), level=1) == 2


def test_swapping_two_shifts_exchanges_the_two_people_in_both():
    week1 = oncall.shift_bounds(ROT, at(3))
    week2 = oncall.shift_bounds(ROT, at(10))
    swap = [
        oncall.Override(2, 1, *week1),
        oncall.Override(1, 2, *week1),
        oncall.Override(1, 2, *week2),
        oncall.Override(2, 1, *week2),
    ]
    assert [oncall.on_call(ROT, swap, at(3), level) for level in (0, 1)] == [2, 1]
    assert [oncall.on_call(ROT, swap, at(10), level) for level in (0, 1)] == [1, 3]
    assert [oncall.on_call(ROT, swap, at(17), level) for level in (0, 1)] == [3, 1]


def test_upcoming_handoffs_include_overrides():
    cover = oncall.Override(user_id=9, replaces_id=None, starts_at=at(5, 18), ends_at=at(6, 6))
    handoffs = oncall.upcoming_handoffs(ROT, [cover], at(3), count=3)
    assert [(h.at, h.from_user, h.to_user) for h in handoffs] == [
        (at(5, 18), 1, 9),
        (at(6, 6), 9, 1),
        (at(9, 9), 1, 2),
    ]


def test_escalation_steps_run_in_order_with_delays_and_repeat():
    snap = {
        "repeat": 1,
        "repeat_after_minutes": 15,
        "steps": [
            {"delay_minutes": 0, "target": {}},
            {"delay_minutes": 5, "target": {}},
            {"delay_minutes": 10, "target": {}},
        ],
    }
    t0 = at(3)
    times = [at_ for _i, at_, _t in escalation.plan(snap, t0)]
    minutes = [int((t - t0).total_seconds() // 60) for t in times]
    assert minutes == [0, 5, 15, 30, 35, 45]
    assert escalation.due_at(snap, 6, t0) is None
    assert escalation.describe(snap, 4) == "step 2 of 3, repeat 1"


def test_magnitude_counts_affected_items_not_measurements():
    assert escalation.magnitude({"vhids": [1, 2], "states": [41210, 41198]}) == 2
    assert escalation.magnitude({"disks": ["ada1"]}) == 1
    assert escalation.magnitude({}) == 1


def test_grouping_flattens_host_roots_under_the_site_root():
    topo = grouping.Topology(site_of={1: 7, 2: 7})
    nodes = [
        grouping.Node(10, "host_unreachable", 1, None, (1, 10)),
        grouping.Node(11, "host_unreachable", 2, None, (2, 11)),
        grouping.Node(12, "jail_not_running", 2, None, (3, 12)),
    ]
    assert grouping.desired_parents(nodes, topo) == {10: None, 11: 10, 12: 10}
