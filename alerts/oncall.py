"""Who is on call: pure schedule maths (no Django, no clock).

Shifts hand off at a local wall-clock time, so a weekly rotation keeps its 09:00 hand-off
across daylight-saving changes (shift lengths become 167 or 169 hours then)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Rotation:
    members: tuple[int, ...]  # user ids by position
    start_date: date
    handoff_time: time
    rotation_days: int = 7
    timezone: str = "UTC"


@dataclass(frozen=True)
class Override:
    user_id: int
    replaces_id: int | None  # None: replaces whoever is primary
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Handoff:
    at: datetime
    from_user: int | None
    to_user: int | None


def handoff_at(rot: Rotation, k: int) -> datetime:
    """Start of shift k (k may be negative), as an aware UTC datetime."""
    day = rot.start_date + timedelta(days=k * rot.rotation_days)
    local = datetime.combine(day, rot.handoff_time, tzinfo=ZoneInfo(rot.timezone))
    return local.astimezone(UTC)


def shift_index(rot: Rotation, at: datetime) -> int:
    """The k with handoff_at(k) <= at < handoff_at(k+1)."""
    length = timedelta(days=rot.rotation_days)
    k = (at - handoff_at(rot, 0)) // length
    # The estimate is off by one at most, near a hand-off across a DST change.
    while handoff_at(rot, k) > at:
        k -= 1
    while handoff_at(rot, k + 1) <= at:
        k += 1
    return k


def shift_bounds(rot: Rotation, at: datetime) -> tuple[datetime, datetime]:
    k = shift_index(rot, at)
    return handoff_at(rot, k), handoff_at(rot, k + 1)


def rotation_at(rot: Rotation, at: datetime, level: int = 0) -> int | None:
    if not rot.members:
        return None
    return rot.members[(shift_index(rot, at) + level) % len(rot.members)]


def on_call(rot: Rotation, overrides: list[Override], at: datetime, level: int = 0) -> int | None:
    """Who is on call at `at` at `level` (0 primary, 1 secondary), overrides applied; the
    latest-starting override wins when several cover the same instant."""
    base = rotation_at(rot, at, level)
    active = sorted(
        (o for o in overrides if o.starts_at <= at < o.ends_at),
        key=lambda o: o.starts_at,
        reverse=True,
    )
    for o in active:
        if o.replaces_id is None and level == 0:
            return o.user_id
        if o.replaces_id is not None and o.replaces_id == base:
            return o.user_id
    return base


def upcoming_handoffs(
    rot: Rotation, overrides: list[Override], now: datetime, count: int = 3
) -> list[Handoff]:
    """The next `count` changes of the primary, from rotation hand-offs and overrides."""
    if not rot.members:
        return []
    horizon = now + timedelta(days=rot.rotation_days * (count + 1))
    k = shift_index(rot, now) + 1
    boundaries = set()
    while (b := handoff_at(rot, k)) <= horizon:
        boundaries.add(b)
        k += 1
    for o in overrides:
        boundaries.update(t for t in (o.starts_at, o.ends_at) if now < t <= horizon)
    out = []
    for b in sorted(boundaries):
        before = on_call(rot, overrides, b - timedelta(microseconds=1))
        after = on_call(rot, overrides, b)
        if before != after:
            out.append(Handoff(b, before, after))
        if len(out) == count:
            break
    return out
