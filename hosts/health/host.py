"""Health rules about one host alone: reachability, host keys, unreadable
subsystems, CARP demotion, jails; and the entry point that runs every per-host rule.
Pure: no Django, no I/O, no clock (`now` is passed in)."""

from __future__ import annotations

from datetime import datetime

from hosts.health.gmirror import mirror_findings
from hosts.health.haproxy import backend_findings
from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import (
    DEFAULT_THRESHOLDS,
    REACHABILITY_SEVERITY,
    WARNING,
    Thresholds,
)
from hosts.health.zpool import pool_findings


def evaluate_host(h: HostView, now: datetime, t: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    """Findings about one host alone. An unreachable host keeps its last good data, and the
    rules below still judge it: the alerts app groups them under host_unreachable."""
    out: list[Finding] = []
    if h.reachability == "host_key_unknown":
        out.append(
            host_finding(
                h,
                "host_key_unknown",
                REACHABILITY_SEVERITY[h.reachability],
                h.name,
                f"{h.name}: host key not approved yet ({h.offered_key}); "
                "approve it on the host page to start polling",
            )
        )
    elif h.reachability == "host_key_changed":
        out.append(
            host_finding(
                h,
                "host_key_changed",
                REACHABILITY_SEVERITY[h.reachability],
                h.name,
                f"{h.name}: host key changed (pinned {h.pinned_key}, offered "
                f"{h.offered_key}); no command is sent until a NOC engineer "
                "re-approves it",
                offered=h.offered_key,
                pinned=h.pinned_key,
            )
        )
    elif h.reachability == "unknown":
        age = _age(now, h.last_success_at)
        out.append(
            host_finding(
                h,
                "host_unreachable",
                REACHABILITY_SEVERITY[h.reachability],
                h.name,
                f"{h.name} unreachable: {h.reason or 'no reason given'} (last good data {age})",
            )
        )
    for subsystem, reason in sorted(h.subsystem_errors.items()):
        out.append(
            host_finding(
                h,
                "parse_error",
                WARNING,
                f"{h.name} {subsystem}",
                f"{h.name}: {subsystem} state unknown: {reason}",
                key=subsystem,
            )
        )
    if h.carp_demotion:
        out.append(
            host_finding(
                h,
                "carp_demoted",
                WARNING,
                h.name,
                f"{h.name}: CARP demotion is {h.carp_demotion} (every vhid's "
                "advskew is raised; the peer takes MASTER)",
                demotion=h.carp_demotion,
            )
        )
    out += mirror_findings(h)
    out += pool_findings(h, now, t)
    if h.stopped_jails:
        names = ", ".join(h.stopped_jails)
        out.append(
            host_finding(
                h,
                "jail_not_running",
                WARNING,
                f"{h.name} jails",
                f"{h.name}: jail(s) not running: {names}",
                jails=list(h.stopped_jails),
            )
        )
    out += backend_findings(h, t)
    return out


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
