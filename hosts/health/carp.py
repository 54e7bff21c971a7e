"""Health rules that need more than one host: CARP pairs and groups, pfsync,
state-table divergence, config drift (pure)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from hosts.health.state import ClusterState, HostState, Problem
from hosts.health.verdicts import (
    CRITICAL,
    DEFAULT_THRESHOLDS,
    WARNING,
    Thresholds,
    pair_pfsync,
    state_divergence,
)

# Cluster kinds whose members hold their VIPs with CARP (a jail-service pair does too).
CARP_KINDS = ("firewall", "loadbalancer", "jail-service", "vpn")
# Cluster kinds whose members sync pf states with pfsync: judged on pfsync and divergence.
PFSYNC_KINDS = ("firewall", "vpn")
# The findings of a cluster that state its members' pf state counts (pf_states_matter).
PF_STATES_KINDS = frozenset({"state_tables_diverged", "preferred_master_is_backup"})


def _cluster_problem(
    c: ClusterState, kind: str, severity: str, message: str, key: str = "", **details
) -> Problem:
    return Problem(
        kind=kind,
        severity=severity,
        scope=f"cluster:{c.id}",
        dedup_key=f"{kind}:cluster:{c.name}" + (f":{key}" if key else ""),
        subject=c.name,
        message=f"{c.name}: {message}",
        cluster_id=c.id,
        details=details,
    )


def _fmt(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _vhid_states(c: ClusterState) -> dict[int, dict[str, str]]:
    """vhid -> {host name: state}, from members whose data is current; an unreachable
    member's vhids count as unknown, not as its last known state."""
    states: dict[int, dict[str, str]] = defaultdict(dict)
    for host, _role in c.members:
        for v in host.vhids:
            states[v.vhid][host.name] = v.state if host.reachable else "UNKNOWN"
    return states


def evaluate_cluster(
    c: ClusterState, now: datetime, t: Thresholds = DEFAULT_THRESHOLDS
) -> list[Problem]:
    if c.kind not in CARP_KINDS or not c.members:
        return []
    out: list[Problem] = []
    hosts = [h for h, _ in c.members]
    primary = next((h for h, role in c.members if role == "primary"), None)
    states = _vhid_states(c)
    # Two MASTERs for one vhid: both answer ARP for the VIP and traffic flaps between them.
    # Only members with fresh data count (_vhid_states), so a dead member's last "MASTER"
    # never makes a split brain.
    split = sorted(v for v, by in states.items() if list(by.values()).count("MASTER") > 1)
    if split:
        masters = sorted({n for v in split for n, s in states[v].items() if s == "MASTER"})
        out.append(
            _cluster_problem(
                c,
                "split_brain",
                CRITICAL,
                f"split brain: {', '.join(masters)} are all MASTER for vhid "
                f"{', '.join(map(str, split))}",
                vhids=split,
                masters=masters,
            )
        )
    # Nobody MASTER (all BACKUP, INIT or unknown): the VIP answers nowhere.
    none = sorted(v for v, by in states.items() if "MASTER" not in by.values())
    if none:
        unknown = sorted({n for v in none for n, s in states[v].items() if s == "UNKNOWN"})
        note = f" ({', '.join(unknown)} state unknown)" if unknown else ""
        out.append(
            _cluster_problem(
                c,
                "no_master",
                CRITICAL,
                f"no MASTER for vhid {', '.join(map(str, none))}{note}",
                vhids=none,
            )
        )
    masters_by_host: dict[str, list[int]] = defaultdict(list)
    for vhid, by in states.items():
        for name, state in by.items():
            if state == "MASTER" and vhid not in split:
                masters_by_host[name].append(vhid)
    # With net.inet.carp.preempt=1 CARP moves every vhid of a host together (a demotion
    # counter shared by the host): MASTERs spread over members means something is wrong,
    # not a deliberate split. Without preempt a spread is a legitimate layout.
    preempt = any(h.carp_preempt == 1 for h in hosts if h.reachable)
    if preempt and len(masters_by_host) > 1:
        spread = "; ".join(
            f"{n}: {', '.join(map(str, sorted(v)))}" for n, v in sorted(masters_by_host.items())
        )
        out.append(
            _cluster_problem(
                c,
                "mixed_master",
                WARNING,
                f"MASTER split across members with preempt on ({spread})",
                masters={n: sorted(v) for n, v in masters_by_host.items()},
            )
        )
    if primary is not None:
        out += _failover(c, primary, states, masters_by_host, split)
    if c.kind in PFSYNC_KINDS:
        ok, verdict = pair_pfsync(hosts)
        reachable = [h for h in hosts if h.reachable]
        # Only what we can see is judged: an unreachable member makes pfsync "unknown"
        # (shown on the card), not down, so an outage is not reported twice.
        if not ok and any(h.pfsync_present is False or h.pfsync_syncok == 0 for h in reachable):
            out.append(
                _cluster_problem(
                    c,
                    "pfsync_down",
                    CRITICAL,
                    f"{verdict}: a failover now would drop connections",
                    verdict=verdict,
                )
            )
        out += _state_divergence(c, reachable, t)
    out += _config_drift(c, [h for h in hosts if h.reachable])
    return out


def pf_states_matter(
    c: ClusterState, open_kinds: set[str], t: Thresholds = DEFAULT_THRESHOLDS
) -> bool:
    """Can a change of the members' pf state counts alone change this cluster's findings?
    Only if a finding that states the counts is open (`open_kinds`: the kinds stored for
    the cluster), or the counts now make the state tables diverge (no finding said so yet).
    Else judging the cluster again finds what is stored: pf state counts move every minute
    on every firewall and load balancer, and judging each one then is most of the fleet's
    judgements. `c.members` need only name, reachability and pf_states."""
    if c.kind not in CARP_KINDS or not c.members:
        return False
    if open_kinds & PF_STATES_KINDS:
        return True
    reachable = [h for h, _ in c.members if h.reachable]
    return c.kind in PFSYNC_KINDS and bool(_state_divergence(c, reachable, t))


def _failover(c, primary: HostState, states, masters_by_host, split) -> list[Problem]:
    """The intended primary is not MASTER for some vhid that another member holds."""
    moved = sorted(
        v
        for v, by in states.items()
        if v not in split and by.get(primary.name) != "MASTER" and "MASTER" in by.values()
    )
    if not moved:
        return []
    new_master = next(n for n, s in states[moved[0]].items() if s == "MASTER")
    holder = next(h for h, _ in c.members if h.name == new_master)
    # When it took over, from its last StatusEvent to MASTER: the NOC reads the failover
    # time from the finding, so it must be the event's, not the poll's.
    since = [v.master_since for v in holder.vhids if v.vhid in moved and v.master_since]
    at = max(since) if since else None
    hosts = [h for h, _ in c.members]
    ok, verdict = pair_pfsync(hosts)
    tables = " / ".join(_fmt(h.pf_states) for h in hosts)
    when = f" at {at:%H:%M:%S}" if at else ""
    detail = f"; {verdict}" + (f", state tables {tables}" if c.kind in PFSYNC_KINDS else "")
    return [
        _cluster_problem(
            c,
            "preferred_master_is_backup",
            WARNING,
            f"{new_master} became MASTER for vhid {', '.join(map(str, moved))} "
            f"(was {primary.name}){when}{detail}",
            new_master=new_master,
            old_master=primary.name,
            vhids=moved,
            at=at.isoformat() if at else None,
            pfsync_ok=ok,
            states=[h.pf_states for h in hosts],
        )
    ]


def _state_divergence(c: ClusterState, reachable: list[HostState], t: Thresholds) -> list[Problem]:
    counts = [h.pf_states for h in reachable if h.pf_states is not None]
    if len(counts) < 2 or len(counts) != len(reachable):
        return []
    share = state_divergence(counts, t)
    if share is None:
        return []
    tables = " / ".join(f"{h.name} {_fmt(h.pf_states)}" for h in reachable)
    return [
        _cluster_problem(
            c,
            "state_tables_diverged",
            WARNING,
            f"pf state tables differ by {100 * share:.0f}% ({tables}): a failover "
            "would drop the difference",
            states={h.name: h.pf_states for h in reachable},
        )
    ]


def _config_drift(c: ClusterState, reachable: list[HostState]) -> list[Problem]:
    if len(reachable) < 2:
        return []
    differences = []

    def compare(label: str, value_of):
        values = {h.name: value_of(h) for h in reachable}
        if len({repr(v) for v in values.values()}) > 1:
            shown = "; ".join(f"{n}: {v}" for n, v in values.items())
            differences.append(f"{label} ({shown})")

    compare("vhids", lambda h: sorted({v.vhid for v in h.vhids}))
    all_vhids = sorted({v.vhid for h in reachable for v in h.vhids})
    for vhid in all_vhids:
        compare(
            f"vhid {vhid} advbase",
            lambda h, vhid=vhid: sorted({v.advbase for v in h.vhids if v.vhid == vhid}),
        )
        compare(
            f"vhid {vhid} VIPs",
            lambda h, vhid=vhid: sorted({ip for v in h.vhids if v.vhid == vhid for ip in v.vips}),
        )
    compare("net.inet.carp.preempt", lambda h: h.carp_preempt)
    if c.kind in ("firewall", "vpn", "loadbalancer"):
        compare("pf ruleset", lambda h: h.pf_ruleset_hash[:12] or None)
    if not differences:
        return []
    return [
        _cluster_problem(
            c,
            "pair_config_drift",
            WARNING,
            "members differ: " + "; ".join(differences),
            differences=differences,
        )
    ]
