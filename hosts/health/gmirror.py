"""Health rules for gmirror mirrors (pure)."""

from __future__ import annotations

from hosts.health.state import Finding, HostView, host_finding
from hosts.health.verdicts import WARNING, mirror_severity, mirror_syncing


def mirror_findings(h: HostView) -> list[Finding]:
    out = []
    for m in h.mirrors:
        severity = mirror_severity(m.state, m.components)
        if severity is None:
            continue
        syncing = mirror_syncing(m.components)
        bad = [n for n, s, _ in m.components if s not in ("ACTIVE", "SYNCHRONIZING")]
        if severity == WARNING:
            progress = ", ".join(f"{n} {pct}%" if pct is not None else n for n, pct in syncing)
            text = f"rebuilding ({progress})"
        else:
            text = f"{m.state} with {len(m.components)} component(s)"
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
