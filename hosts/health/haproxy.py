"""Health rules for HAProxy backends: servers down, capacity left (pure)."""

from __future__ import annotations

import math

from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import CRITICAL, WARNING, Thresholds

_INTENTIONAL = ("MAINT", "DRAIN")


def backend_findings(h: HostView, t: Thresholds) -> list[Finding]:
    out = []
    for b in h.backends:
        if not b.servers:
            continue
        up = [n for n, s in b.servers if s.startswith("UP") or s == "no check"]
        down = [n for n, s in b.servers if s.startswith("DOWN") or s == "NOLB"]
        subject = f"{h.name} {b.name}"
        if down:
            out.append(
                host_finding(
                    h,
                    "member_down",
                    WARNING,
                    subject,
                    f"{h.name}: backend {b.name}: {', '.join(down)} DOWN",
                    key=b.name,
                    servers=down,
                )
            )
        needed = max(1, math.ceil(len(b.servers) * t.backend_min_up_share))
        if len(up) < needed:
            severity = CRITICAL if not up else WARNING
            out.append(
                host_finding(
                    h,
                    "backend_capacity",
                    severity,
                    subject,
                    f"{h.name}: backend {b.name} has {len(up)}/{len(b.servers)} "
                    f"servers UP (needs {needed})",
                    key=b.name,
                    up=len(up),
                    total=len(b.servers),
                )
            )
    return out
