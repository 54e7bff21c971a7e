"""Health rules for gmirror mirrors (pure)."""

from __future__ import annotations

from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import CRITICAL, WARNING


def mirror_findings(h: HostView) -> list[Finding]:
    out = []
    for m in h.mirrors:
        if m.state == "COMPLETE":
            continue
        syncing = [
            (n, pct) for n, s, pct in m.components if s == "SYNCHRONIZING" or pct is not None
        ]
        bad = [n for n, s, _ in m.components if s not in ("ACTIVE", "SYNCHRONIZING")]
        if m.state == "DEGRADED" and syncing:
            progress = ", ".join(f"{n} {pct}%" if pct is not None else n for n, pct in syncing)
            severity, text = WARNING, f"rebuilding ({progress})"
        else:
            severity, text = CRITICAL, f"{m.state} with {len(m.components)} component(s)"
        out.append(
            host_finding(
                h,
                "mirror_degraded",
                severity,
                f"{h.name} mirror/{m.name}",
                f"{h.name}: mirror/{m.name} {text}",
                key=m.name,
                state=m.state,
                components=[c[0] for c in m.components],
                failed=bad,
                syncing=[n for n, _ in syncing],
            )
        )
    return out
