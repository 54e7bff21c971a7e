"""Health rules for ZFS pools and their devices: health, device errors,
capacity, scrub age (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import CRITICAL, INFO, WARNING, Thresholds

_DEVICE_OK = {"ONLINE", "AVAIL", "INUSE"}


def pool_findings(h: HostView, now: datetime, t: Thresholds) -> list[Finding]:
    out = []
    for p in h.pools:
        subject = f"{h.name} {p.name}"
        if p.health in ("FAULTED", "UNAVAIL", "SUSPENDED", "OFFLINE", "REMOVED"):
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
        elif p.health == "DEGRADED":
            resilver = ""
            if p.scan_kind == "resilver" and p.scan_state == "in_progress":
                resilver = f"; resilvering {p.scan_pct or 0:.1f}%"
            out.append(
                host_finding(
                    h,
                    "pool_degraded",
                    WARNING,
                    subject,
                    f"{h.name}: pool {p.name} is DEGRADED{resilver}",
                    key=p.name,
                )
            )
        bad = [
            d
            for d in p.devices
            if d.depth > 0 and (d.state not in _DEVICE_OK or d.read or d.write or d.cksum)
        ]
        if bad:
            listing = ", ".join(
                f"{d.name} {d.state} r/w/ck {d.read}/{d.write}/{d.cksum}" for d in bad
            )
            severity = (
                CRITICAL
                if any(d.state in ("FAULTED", "UNAVAIL", "REMOVED") for d in bad)
                else WARNING
            )
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
        if p.cap_pct is not None and p.cap_pct >= t.pool_capacity_warning:
            severity = CRITICAL if p.cap_pct >= t.pool_capacity_critical else WARNING
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
