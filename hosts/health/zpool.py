"""Health rules for ZFS pools and their devices: health, device errors,
capacity, scrub age (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import (
    CRITICAL,
    INFO,
    Thresholds,
    capacity_severity,
    device_is_bad,
    devices_severity,
    pool_health_severity,
)


def pool_findings(h: HostView, now: datetime, t: Thresholds) -> list[Finding]:
    out = []
    for p in h.pools:
        subject = f"{h.name} {p.name}"
        health = pool_health_severity(p.health)
        if health == CRITICAL:
            out.append(
                host_finding(
                    h,
                    "pool_faulted",
                    CRITICAL,
                    subject,
                    f"{h.name}: pool {p.name} is {p.health}",
                    key=p.name,
                )
            )
        elif health is not None:
            resilver = ""
            if p.scan_kind == "resilver" and p.scan_state == "in_progress":
                resilver = f"; resilvering {p.scan_pct or 0:.1f}%"
            out.append(
                host_finding(
                    h,
                    "pool_degraded",
                    health,
                    subject,
                    f"{h.name}: pool {p.name} is DEGRADED{resilver}",
                    key=p.name,
                )
            )
        bad = [
            d
            for d in p.devices
            # depth 0 is the pool's own line, judged by its health above.
            if d.depth > 0 and device_is_bad(d.state, d.read, d.write, d.cksum)
        ]
        if bad:
            listing = ", ".join(
                f"{d.name} {d.state} r/w/ck {d.read}/{d.write}/{d.cksum}" for d in bad
            )
            severity = devices_severity(d.state for d in bad)
            out.append(
                host_finding(
                    h,
                    "device_errors",
                    severity,
                    subject,
                    f"{h.name}: pool {p.name} ({p.health}) device problems: {listing}",
                    key=p.name,
                    devices=[d.name for d in bad],
                )
            )
        severity = capacity_severity(p.cap_pct, t)
        if severity is not None:
            out.append(
                host_finding(
                    h,
                    "pool_capacity",
                    severity,
                    subject,
                    f"{h.name}: pool {p.name} is {p.cap_pct}% full",
                    key=p.name,
                    cap_pct=p.cap_pct,
                )
            )
        scrubbing = p.scan_state == "in_progress"
        too_old = p.scan_finished_at is None or (
            now - p.scan_finished_at > timedelta(days=t.scrub_max_age_days)
        )
        if p.health == "ONLINE" and not scrubbing and p.scan_kind != "resilver" and too_old:
            when = "never" if p.scan_finished_at is None else f"{p.scan_finished_at:%Y-%m-%d}"
            out.append(
                host_finding(
                    h,
                    "scrub_overdue",
                    INFO,
                    subject,
                    f"{h.name}: pool {p.name} last scrubbed {when}",
                    key=p.name,
                )
            )
    return out
