"""The one judge: every verdict, tone, threshold and staleness rule of nyiops.

The health rules (hosts/health/*), every dashboard widget and page (hosts/dashboard/*), the
template filters and the portal take their judgement from here and never restate one. Before
this module existed the rules and the widgets each had their own copy and disagreed (a state
table divergence bad above 10 % in the rules but 20 % on the dashboard, an OFFLINE pool
critical in one and "warning" in the other): tests/test_agreement.py now feeds the same
observed state to both and asserts they agree.

Severities (what a finding is) and tones (how a page colours it) share their words on purpose:
a finding of severity "warning" is shown in tone "warning". Tones add "ok" and "unknown".

Pure: no models, no I/O, no clock (`now` is passed in). The one thing read from settings is
the thresholds, in `configured_thresholds()`, which callers with Django pass to the rules.
Must not: query the database, build HTML, or know which widget shows a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

CRITICAL, WARNING, INFO = "critical", "warning", "info"
OK, UNKNOWN = "ok", "unknown"
# "unknown" ranks above ok: a page must never show green for something it cannot judge.
TONE_RANK = {OK: 0, INFO: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}


def tone_of(severity: str | None) -> str:
    """The tone a page shows for a finding of `severity` (None: nothing found)."""
    return severity or OK


def worst(*tones: str) -> str:
    return max(tones, key=lambda t: TONE_RANK.get(t, 1), default=OK)


@dataclass(frozen=True)
class Verdict:
    tone: str
    text: str


# --- thresholds -------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    pool_capacity_warning: int = 80
    pool_capacity_critical: int = 90
    scrub_max_age_days: int = 35
    state_divergence_share: float = 0.10  # of the larger table
    state_divergence_min: int = 100  # tables smaller than this never diverge meaningfully
    backend_min_up_share: float = 0.5
    backup_stale_factor: float = 1.5
    poll_stale_intervals: int = 3


DEFAULT_THRESHOLDS = Thresholds()


def configured_thresholds() -> Thresholds:
    """The thresholds this deployment judges by (NYIOPS_HEALTH_THRESHOLDS overrides fields)."""
    return Thresholds(**getattr(settings, "NYIOPS_HEALTH_THRESHOLDS", {}))


# --- hosts: reachability and staleness --------------------------------------------------

# What a host's reachability means on its own. A key waiting for approval is work for the
# NOC, not an outage; a changed key may be an attack and stops all polling.
REACHABILITY_SEVERITY = {
    "host_key_unknown": WARNING,
    "host_key_changed": CRITICAL,
    "unknown": CRITICAL,
}


def freshness(
    reachability: str,
    last_success_at: datetime | None,
    interval: int,
    now: datetime,
    t: Thresholds = DEFAULT_THRESHOLDS,
) -> str:
    """ok | stale | unreachable | new | disabled: can this host's data be trusted now?
    Stale after the same number of poll intervals as the poll_stale rule."""
    if reachability == "disabled":
        return "disabled"
    if reachability == "new" and last_success_at is None:
        return "new"
    if reachability != "ok":
        return "unreachable"
    if last_success_at is None or now - last_success_at > timedelta(
        seconds=t.poll_stale_intervals * max(interval, 1)
    ):
        return "stale"
    return "ok"


def poll_is_stale(
    last_poll_at: datetime | None, interval: int, now: datetime, t: Thresholds = DEFAULT_THRESHOLDS
) -> bool:
    """Polls stopped happening (workers or beat down). A host never polled is "new", not
    stale: staleness is about data that stopped coming."""
    limit = timedelta(seconds=interval * t.poll_stale_intervals)
    return last_poll_at is not None and now - last_poll_at > limit


_FRESHNESS_TONE = {"ok": OK, "stale": WARNING, "unreachable": CRITICAL, "new": INFO}


def host_verdict(reachability: str, fresh: str) -> Verdict:
    """A host on its own (the hosts widget, host and customer pages)."""
    if reachability == "host_key_unknown":
        return Verdict(REACHABILITY_SEVERITY[reachability], "host key not approved")
    if reachability == "host_key_changed":
        return Verdict(REACHABILITY_SEVERITY[reachability], "host key changed")
    return Verdict(_FRESHNESS_TONE.get(fresh, UNKNOWN), fresh)


def member_tone(reachability: str, fresh: str) -> str:
    """A host as a member of a pair: one never polled leaves the pair unjudged (unknown),
    where on its own it is merely new."""
    if fresh == "new":
        return UNKNOWN
    return host_verdict(reachability, fresh).tone


# --- state words polled from hosts ------------------------------------------------------

# Anything not listed is shown in the "unknown" tone with its own word, never hidden.
STATE_TONE = {
    "ok": OK,
    "MASTER": OK,
    "BACKUP": OK,
    "COMPLETE": OK,
    "ONLINE": OK,
    "ACTIVE": OK,
    "UP": OK,
    "in sync": OK,
    "running": OK,
    "info": INFO,
    "new": INFO,
    "SYNCHRONIZING": WARNING,
    "DEGRADED": WARNING,
    "DRAIN": WARNING,
    "MAINT": WARNING,
    "INIT": WARNING,
    "STARTING": WARNING,
    "warning": WARNING,
    "stale": WARNING,
    "stopped": WARNING,
    "critical": CRITICAL,
    "FAULTED": CRITICAL,
    "UNAVAIL": CRITICAL,
    "REMOVED": CRITICAL,
    "OFFLINE": CRITICAL,
    "SUSPENDED": CRITICAL,
    "DOWN": CRITICAL,
    "failed": CRITICAL,
    "unreachable": CRITICAL,
}


def state_tone(word) -> str:
    return STATE_TONE.get(str(word), UNKNOWN)


# --- ZFS pools --------------------------------------------------------------------------

# zpoolconcepts(7): OFFLINE and REMOVED pools serve no data, like FAULTED ones.
POOL_CRITICAL_HEALTH = ("FAULTED", "UNAVAIL", "SUSPENDED", "OFFLINE", "REMOVED")
DEVICE_OK = frozenset({"ONLINE", "AVAIL", "INUSE"})  # AVAIL/INUSE: spares
DEVICE_CRITICAL = ("FAULTED", "UNAVAIL", "REMOVED")


def pool_health_severity(health: str) -> str | None:
    if health in POOL_CRITICAL_HEALTH:
        return CRITICAL
    if health == "DEGRADED":
        return WARNING
    return None


def device_is_bad(state: str, read: int, write: int, cksum: int) -> bool:
    return state not in DEVICE_OK or bool(read or write or cksum)


def devices_severity(bad_states: Iterable[str]) -> str | None:
    """Severity of a pool's bad leaf/vdev devices (as found by device_is_bad)."""
    states = list(bad_states)
    if not states:
        return None
    return CRITICAL if any(s in DEVICE_CRITICAL for s in states) else WARNING


def capacity_severity(cap_pct: int | None, t: Thresholds = DEFAULT_THRESHOLDS) -> str | None:
    if cap_pct is None or cap_pct < t.pool_capacity_warning:
        return None
    return CRITICAL if cap_pct >= t.pool_capacity_critical else WARNING


# --- gmirror ----------------------------------------------------------------------------


def mirror_syncing(components: Iterable[tuple[str, str, int | None]]) -> list[tuple]:
    """(name, pct) of components being rebuilt."""
    return [(n, pct) for n, s, pct in components if s == "SYNCHRONIZING" or pct is not None]


def mirror_severity(state: str, components: Iterable[tuple[str, str, int | None]]) -> str | None:
    """A DEGRADED mirror that is rebuilding will heal by itself (warning); any other state
    but COMPLETE runs without redundancy and nothing is fixing it (critical)."""
    if state == "COMPLETE":
        return None
    return WARNING if state == "DEGRADED" and mirror_syncing(components) else CRITICAL


# --- CARP pairs: pfsync and state tables ------------------------------------------------


def pfsync_verdict(present: bool | None, syncok: int | None, fresh: str = "ok") -> Verdict:
    """One member's pfsync, as shown on its cluster card."""
    if present is None:
        return Verdict(UNKNOWN, "not polled")
    if fresh != "ok":
        # The last reading of a host we cannot reach now says nothing about its pfsync now.
        last = "no pfsync" if not present else ("in sync" if syncok else "not in sync")
        return Verdict(UNKNOWN, f"{last}, last seen")
    if not present:
        return Verdict(CRITICAL, "no pfsync")
    if syncok is None:
        return Verdict(UNKNOWN, "sync state not reported")
    return Verdict(OK, "in sync") if syncok else Verdict(CRITICAL, "not in sync")


def pair_pfsync(members: Iterable) -> tuple[bool, str]:
    """Would a failover keep connections, as far as pfsync goes? Only if pfsync is up and in
    sync on every member. `members` have .name, .reachable, .pfsync_present, .pfsync_syncok
    (the rules' HostState)."""
    problems = []
    for h in members:
        if not h.reachable:
            problems.append(f"pfsync state of {h.name} unknown (no fresh data)")
        elif h.pfsync_present is False:
            problems.append(f"pfsync missing on {h.name}")
        elif h.pfsync_syncok == 0:
            problems.append(f"pfsync not in sync on {h.name}")
    return (not problems, "pfsync in sync" if not problems else "; ".join(problems))


def state_divergence(counts: list[int], t: Thresholds = DEFAULT_THRESHOLDS) -> float | None:
    """The share by which pf state tables of a pair differ, when it is large enough to
    lose connections on failover (None otherwise). pfsync keeps tables close; a gap means
    updates are being lost."""
    if len(counts) < 2:
        return None
    high, low = max(counts), min(counts)
    if high < t.state_divergence_min or (high - low) / high <= t.state_divergence_share:
        return None
    return (high - low) / high


# --- HAProxy backends -------------------------------------------------------------------


def server_is_up(status: str) -> bool:
    return status.startswith("UP") or status == "no check"


def server_is_down(status: str) -> bool:
    # MAINT and DRAIN are an operator's decision, not a failure: neither up nor down.
    return status.startswith("DOWN") or status == "NOLB"


def servers_needed(total: int, t: Thresholds = DEFAULT_THRESHOLDS) -> int:
    return max(1, math.ceil(total * t.backend_min_up_share))


def capacity_left_severity(up: int, total: int, t: Thresholds = DEFAULT_THRESHOLDS) -> str | None:
    if total == 0 or up >= servers_needed(total, t):
        return None
    return CRITICAL if up == 0 else WARNING


def backend_verdict(statuses: list[str], t: Thresholds = DEFAULT_THRESHOLDS) -> Verdict:
    """A backend from its servers' statuses: the member_down and backend_capacity rules as
    one tone."""
    total = len(statuses)
    up = sum(1 for s in statuses if server_is_up(s))
    down = sum(1 for s in statuses if server_is_down(s))
    capacity = capacity_left_severity(up, total, t)
    if up == 0 and total:
        return Verdict(CRITICAL, "no server UP")
    if capacity or down:
        return Verdict(worst(tone_of(capacity), WARNING), f"{up}/{total} servers UP")
    return Verdict(OK, f"{up}/{total} servers UP")


# --- backups ----------------------------------------------------------------------------

# rsync exit codes (rsync(1)): how bad each is for a backup.
RSYNC_EXIT: dict[int, tuple[str | None, str]] = {
    0: (None, "success"),
    1: (CRITICAL, "syntax or usage error (configuration)"),
    2: (CRITICAL, "protocol incompatibility (configuration)"),
    3: (CRITICAL, "errors selecting input/output files"),
    4: (CRITICAL, "requested action not supported (configuration)"),
    5: (CRITICAL, "error starting client-server protocol"),
    6: (WARNING, "daemon could not append to its log file"),
    10: (CRITICAL, "socket I/O error"),
    11: (CRITICAL, "file I/O error"),
    12: (CRITICAL, "protocol data stream error"),
    13: (CRITICAL, "program diagnostics error"),
    14: (CRITICAL, "IPC error"),
    20: (CRITICAL, "aborted by a signal"),
    21: (CRITICAL, "waitpid() error"),
    22: (CRITICAL, "out of memory"),
    23: (WARNING, "partial transfer due to error"),
    # The run is flagged, but its snapshot is still a usable restore point (GOOD_BACKUP_EXIT).
    24: (WARNING, "partial transfer: source files vanished (normal on live hosts)"),
    25: (WARNING, "--max-delete stopped deletions"),
    30: (CRITICAL, "timeout in data send/receive"),
    35: (CRITICAL, "timeout waiting for daemon connection"),
    127: (CRITICAL, "rsync not found"),
    255: (CRITICAL, "source unreachable (remote shell error)"),
}
# Runs whose snapshot counts as a restore point (unless the snapshot is missing on the target).
GOOD_BACKUP_EXIT = (0, 24)


def rsync_meaning(code: int | None) -> tuple[str | None, str]:
    """(severity or None, meaning) of a run's exit code; None: still running or unknown."""
    if code is None:
        return (None, "running or unknown")
    return RSYNC_EXIT.get(code, (CRITICAL, f"rsync error {code}"))


def exit_tone(code: int | None) -> tuple[str, str]:
    """(tone, meaning) of a run's exit code, for pages and charts."""
    if code is None:
        return (UNKNOWN, "still running or not recorded")
    severity, meaning = rsync_meaning(code)
    return (tone_of(severity), meaning)


def backup_age_limit(schedule_minutes: int, t: Thresholds = DEFAULT_THRESHOLDS) -> timedelta:
    return timedelta(minutes=schedule_minutes * t.backup_stale_factor)


def backup_verdict(
    last_exit: int | None,
    last_good_at: datetime | None,
    created_at: datetime | None,
    schedule_minutes: int,
    now: datetime,
    t: Thresholds = DEFAULT_THRESHOLDS,
    snapshot_verified: bool | None = None,
) -> Verdict:
    """One job's restore point as a widget shows it: the backup_failed and backup_stale
    rules as one tone."""
    severity, meaning = rsync_meaning(last_exit)
    if last_exit == 0 and snapshot_verified is False:
        severity, meaning = WARNING, "snapshot missing on the target"
    reference = last_good_at or created_at
    stale = reference is not None and now - reference > backup_age_limit(schedule_minutes, t)
    if stale:
        text = "restore point too old" if last_good_at else "no good restore point"
        return Verdict(worst(tone_of(severity), WARNING), text)
    if severity is not None:
        return Verdict(tone_of(severity), f"last run failed: {meaning}")
    if last_good_at is None:
        return Verdict(INFO, "no restore point yet")
    return Verdict(OK, "fresh")


# --- events on a timeline ---------------------------------------------------------------


def event_tone(new: str) -> str:
    """The tone of a state change to `new` (a StatusEvent) on a timeline. A member taking
    BACKUP is news, not a problem; losing pfsync sync ("0") or reachability ("unknown") is."""
    if new == "BACKUP":
        return INFO
    if new in ("0", "unknown"):
        return CRITICAL
    tone = state_tone(new)
    return WARNING if tone == UNKNOWN else tone
