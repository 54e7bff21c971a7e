"""Health rules for HAProxy backends: servers down, capacity left (pure)."""

from __future__ import annotations

from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import (
    WARNING,
    Thresholds,
    capacity_left_severity,
    server_is_down,
    server_is_up,
    servers_needed,
)


def backend_findings(h: HostView, t: Thresholds) -> list[Finding]:
    out = []
    for b in h.backends:
        if not b.servers:
            continue
        up = [n for n, s in b.servers if server_is_up(s)]
        down = [n for n, s in b.servers if server_is_down(s)]
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
        needed = servers_needed(len(b.servers), t)
        severity = capacity_left_severity(len(up), len(b.servers), t)
        if severity is not None:
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
