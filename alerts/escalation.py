"""Escalation maths on a policy snapshot: pure functions, no Django, no clock.

A snapshot is the policy copied onto the alert when it opens:
    {"policy_id": 1, "name": "Default", "repeat": 1, "repeat_after_minutes": 15,
     "max_pages_per_hour": 30,
     "steps": [{"delay_minutes": 0, "target": {"type": "oncall", "schedule_id": 1, ...}}, ...]}
Step indexes run over the repeats: with 3 steps and repeat=1, indexes 0..5, where index 3 is
the first step again, `repeat_after_minutes` after step 2 at the earliest."""

from datetime import datetime, timedelta


def total_steps(snapshot: dict | None) -> int:
    if not snapshot or not snapshot.get("steps"):
        return 0
    return len(snapshot["steps"]) * (1 + snapshot.get("repeat", 0))


def step_spec(snapshot: dict, index: int) -> dict:
    steps = snapshot["steps"]
    return steps[index % len(steps)]


def delay_before(snapshot: dict, index: int) -> timedelta:
    """Wait between step index-1 (or the opening, for index 0) and step index."""
    steps = snapshot["steps"]
    position, cycle = index % len(steps), index // len(steps)
    minutes = steps[position]["delay_minutes"]
    if position == 0 and cycle > 0:
        # A repeat must not fire the first step again at once when its own delay is 0.
        minutes = max(minutes, snapshot.get("repeat_after_minutes", 0))
    return timedelta(minutes=minutes)


def due_at(snapshot: dict | None, index: int, previous_at: datetime) -> datetime | None:
    """When step `index` is due, given the time the previous step ran; None after the last."""
    if index >= total_steps(snapshot):
        return None
    return previous_at + delay_before(snapshot, index)


def describe(snapshot: dict, index: int) -> str:
    steps = snapshot["steps"]
    position, cycle = index % len(steps), index // len(steps)
    text = f"step {position + 1} of {len(steps)}"
    return f"{text}, repeat {cycle}" if cycle else text


def plan(snapshot: dict | None, start: datetime) -> list[tuple[int, datetime, dict]]:
    """Every step with the time it would run if nobody acknowledges (for the alert page)."""
    out, at = [], start
    for index in range(total_steps(snapshot)):
        at = at + delay_before(snapshot, index)
        out.append((index, at, step_spec(snapshot, index)["target"]))
    return out


# Detail keys that list affected things. Other lists (e.g. "states": [a, b], the two state
# table sizes of a failover) are measurements, not affected items.
AFFECTED_KEYS = (
    "vhids",
    "disks",
    "devices",
    "components",
    "vdevs",
    "members",
    "servers",
    "backends",
    "jails",
    "datasets",
    "hosts",
    "pools",
    "mirrors",
    "jobs",
    "interfaces",
)


def magnitude(details: dict) -> int:
    """How many things a finding covers (vhids, disks, members...), at least 1. A rise means
    the problem spread, so the alert got worse."""
    if not details:
        return 1
    total = sum(len(v) for k, v in details.items() if k in AFFECTED_KEYS and isinstance(v, list))
    return max(1, total)
