"""CARP maintenance of one member of a pair: demote it so the peer holds every vhid, and end it.

Why relative demotion: carp(4) adds a written value to net.inet.carp.demotion, and so do
pfsync (during its bulk update) and interface loss. Writing +240 and later -240 restores
exactly what we changed, whatever else demoted the node meanwhile; writing an absolute 0
would wipe pfsync's own demotion and let a node with an empty state table take MASTER.
The same relative line in /etc/sysctl.conf.local keeps the node demoted across a reboot
(rc.d/sysctl applies it at boot), so a node rebooted mid-maintenance does not grab the VIPs.

Must not: build a command except through hosts.freebsd.commands; run anything itself.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from hosts.freebsd import commands
from hosts.health.carp import CARP_KINDS
from hosts.health.verdicts import configured_thresholds, state_divergence
from hosts.models import CarpVhid, Host, HostFacts
from operations import locks
from operations.actions import register
from operations.actions.base import (
    Action,
    Check,
    StepSpec,
    Target,
    Verdict,
    cluster_members,
    cluster_of_target,
    freshness_check,
)
from operations.models import Operation

DEMOTION = 240
PERSIST_FILE = commands.SYSCTL_CONF_LOCAL


class NodeParams(forms.Form):
    node = forms.CharField(
        max_length=63,
        required=False,
        help_text="The member to take out (defaults to the host named as the target).",
    )


def _facts_row(host) -> HostFacts:
    try:
        return host.facts
    except HostFacts.DoesNotExist:
        return HostFacts(host=host)


def vhid_states(host) -> dict[int, str]:
    return {v.vhid: v.state for v in CarpVhid.objects.present().filter(host=host).order_by("vhid")}


def max_advbase(hosts) -> int:
    values = CarpVhid.objects.present().filter(host__in=hosts).values_list("advbase", flat=True)
    return max([v for v in values if v] or [1])


def verify_window(hosts) -> float:
    """3 x advbase + margin (RELIABILITY §3.4): the peer must have seen three missed or
    weaker advertisements before it takes MASTER."""
    return 3 * max_advbase(hosts) + settings.NYIOPS_CARP_VERIFY_MARGIN_SECONDS


class _CarpBase(Action):
    params_form = NodeParams

    def resolve(self, target: str, params: dict) -> Target:
        cluster, host = cluster_of_target(target)
        if cluster.kind not in CARP_KINDS:
            raise ValidationError({"target": f"{cluster.name} is not a CARP pair"})
        members = cluster_members(cluster)
        if len(members) != 2:
            raise ValidationError(
                {
                    "target": f"{cluster.name} has {len(members)} members; CARP maintenance "
                    "handles pairs"
                }
            )
        node_name = params.get("node") or (host.name if host else "")
        node = next((h for h in members if h.name == node_name), None)
        if node is None:
            raise ValidationError(
                {"node": f"choose the member to take out: {', '.join(h.name for h in members)}"}
            )
        peer = next(h for h in members if h.pk != node.pk)
        return Target(
            label=f"{cluster.name} ({node.name})",
            cluster=cluster,
            host=node,
            hosts=members,
            extra={"node": node, "peer": peer},
        )

    def facts(self, target: Target, params: dict) -> dict:
        out = {}
        for h in target.hosts:
            f = _facts_row(h)
            out[h.name] = {
                "reachability": h.reachability,
                "demotion": f.carp_demotion,
                "preempt": f.carp_preempt,
                "vhids": {str(k): v for k, v in vhid_states(h).items()},
                "pfsync_present": f.pfsync_present,
                "pfsync_syncok": f.pfsync_syncok,
            }
        return out

    def _common_checks(self, target: Target, facts: dict, now: datetime) -> list[Check]:
        checks = [freshness_check(target.hosts, now)]
        holder = locks.holder_of(
            [f"cluster:{target.cluster.pk}"] + [f"host:{h.pk}" for h in target.hosts], now
        )
        if holder is not None:
            op = holder.operation
            checks.append(
                Check(
                    "no other operation",
                    False,
                    f"pair busy: {op.label} ({op.kind}) by {op.requested_by_name} since "
                    f"{holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC",
                )
            )
        else:
            checks.append(Check("no other operation", True, "no operation holds the pair"))
        return checks

    def predicted_findings(self, target: Target, params: dict, facts: dict) -> list[str]:
        node, cluster = target.extra["node"], target.cluster
        return [
            f"carp_demoted:host:{node.name}",
            f"preferred_master_is_backup:cluster:{cluster.name}",
            f"mixed_master:cluster:{cluster.name}",
            f"no_master:cluster:{cluster.name}",  # for the instant the VIPs change hands
        ]


@register
class CarpMaintenance(_CarpBase):
    kind = "carp-maintenance"
    title = "CARP maintenance of one member"
    target_help = "cluster name (param node=HOST) or a member host name"
    button = "Start maintenance"
    silence_outlasts_success = True  # the node stays demoted until maintenance ends

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        node, peer = target.extra["node"], target.extra["peer"]
        fn, fp = facts[node.name], facts[peer.name]
        checks = self._common_checks(target, facts, now)
        vhids = sorted(set(fn["vhids"]) | set(fp["vhids"]), key=int)
        bad = [v for v in vhids if [fn["vhids"].get(v), fp["vhids"].get(v)].count("MASTER") != 1]
        checks.append(
            Check(
                "one MASTER per vhid",
                bool(vhids) and not bad,
                f"vhid {', '.join(bad)} without exactly one MASTER"
                if bad
                else (
                    f"vhids {', '.join(vhids)} each have one MASTER"
                    if vhids
                    else "no vhids seen on the pair"
                ),
            )
        )
        peer_bad = [
            v
            for v in vhids
            if (fn["vhids"].get(v) == "MASTER" and fp["vhids"].get(v) != "BACKUP")
            or fp["vhids"].get(v) not in ("MASTER", "BACKUP")
        ]
        checks.append(
            Check(
                "peer ready to take over",
                not peer_bad,
                f"{peer.name} is not BACKUP on vhid {', '.join(peer_bad)}"
                if peer_bad
                else f"{peer.name} is BACKUP wherever {node.name} is MASTER",
            )
        )
        checks.append(
            Check(
                "peer not demoted",
                (fp["demotion"] or 0) == 0,
                f"peer {peer.name} already demoted (demotion {fp['demotion']}): taking "
                f"{node.name} out too would leave the pair without a healthy MASTER"
                if fp["demotion"]
                else f"{peer.name} demotion 0",
            )
        )
        checks.append(
            Check(
                "node not already in maintenance",
                (fn["demotion"] or 0) == 0,
                f"{node.name} already demoted ({fn['demotion']})"
                if fn["demotion"]
                else f"{node.name} demotion 0",
            )
        )
        masters_on_node = [v for v in vhids if fn["vhids"].get(v) == "MASTER"]
        preempt_ok = not masters_on_node or fp["preempt"] == 1
        checks.append(
            Check(
                "preempt on",
                preempt_ok,
                "net.inet.carp.preempt is 1"
                if preempt_ok
                else f"preempt is off on {peer.name}: it would not take MASTER from a demoted "
                f"{node.name}",
            )
        )
        if target.cluster.kind in ("firewall", "vpn"):
            sync_bad = [
                name
                for name in (node.name, peer.name)
                if facts[name]["pfsync_present"] is False or facts[name]["pfsync_syncok"] == 0
            ]
            checks.append(
                Check(
                    "pfsync in sync",
                    not sync_bad,
                    f"pfsync down or not in sync on {', '.join(sync_bad)}: a failover would "
                    "drop connections"
                    if sync_bad
                    else "pfsync in sync on both",
                )
            )
            states = [_facts_row(h).pf_states for h in target.hosts]
            if None not in states:
                apart = state_divergence(states, configured_thresholds())
                checks.append(
                    Check(
                        "state tables close",
                        apart is None,
                        f"pf state tables {states[0]:,} / {states[1]:,}"
                        + (f" ({apart:.0%} apart)" if apart else ""),
                    )
                )
        return checks

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        node, peer = target.extra["node"], target.extra["peer"]
        window = verify_window(target.hosts)
        undemote = StepSpec(
            key="undemote",
            title=f"Restore {node.name}'s demotion",
            host=node,
            cmd=commands.carp_demotion_adjust(-DEMOTION),
            why="roll back: give the node its MASTER role back",
            success=f"demotion back to {facts[node.name]['demotion'] or 0}",
            undo="-",
            verify="layout_restored",
            # A node that rebooted comes back without our demotion (not yet persisted):
            # wait for it rather than give up on an unreachable host.
            window=window + settings.NYIOPS_CARP_REBOOT_WAIT_SECONDS,
            data={"tolerate_unreachable": True},
        )
        return [
            StepSpec(
                key="demote",
                title=f"Demote {node.name} by {DEMOTION}",
                host=node,
                cmd=commands.carp_demotion_adjust(DEMOTION),
                why=f"{peer.name} takes MASTER on every vhid at its next advertisements",
                success=f"every vhid MASTER on {peer.name} within {window:g} s, "
                f"{peer.name}'s pf states kept",
                undo=f"sysctl net.inet.carp.demotion=-{DEMOTION} on {node.name}",
                verify="peer_master",
                window=window,
                rollback=undemote,
                data={"before": facts[node.name]["demotion"] or 0},
            ),
            StepSpec(
                key="persist",
                title=f"Keep {node.name} demoted across a reboot",
                host=node,
                cmd=commands.write_file(PERSIST_FILE, commands.demotion_persist_line(DEMOTION)),
                why="rc.d/sysctl applies /etc/sysctl.conf.local at boot: a rebooted node stays "
                "demoted instead of taking the VIPs back",
                success="file written (exit 0)",
                undo=f"rm -f {PERSIST_FILE} on {node.name}",
                idempotent=True,
                rollback=StepSpec(
                    key="unpersist",
                    title="Remove the boot-time demotion",
                    host=node,
                    cmd=commands.remove_file(PERSIST_FILE),
                    why="roll back",
                    success="file removed",
                    undo="-",
                    idempotent=True,
                ),
            ),
        ]

    def verify_peer_master(self, op, step) -> Verdict:
        node, peer = pair_of(op)
        node_states, peer_states = vhid_states(node), vhid_states(peer)
        missing = sorted(
            v for v in set(node_states) | set(peer_states) if peer_states.get(v) != "MASTER"
        )
        if missing:
            return Verdict.wait(
                f"peer {peer.name} did not become MASTER on vhid {', '.join(map(str, missing))}"
            )
        # Until the node hears the peer's first advertisement both claim MASTER.
        both = sorted(v for v, st in node_states.items() if st == "MASTER")
        if both:
            return Verdict.wait(
                f"{node.name} still MASTER on vhid {', '.join(map(str, both))} (split brain)"
            )
        if op.cluster.kind in ("firewall", "vpn"):
            # pfsync keeps both tables alike: a peer far below the node lost connections.
            mine, theirs = _facts_row(node).pf_states, _facts_row(peer).pf_states
            if mine and theirs is not None and theirs < mine * 0.5:
                return Verdict.fail(
                    f"{peer.name} holds {theirs:,} pf states against {node.name}'s {mine:,}: "
                    "connections were not kept"
                )
        return Verdict.ok(f"{peer.name} is MASTER on every vhid")

    def verify_restored(self, op, step) -> Verdict:
        node, _ = pair_of(op)
        want = step.spec.get("data", {}).get("expect", op.facts[node.name]["demotion"] or 0)
        have = _facts_row(node).carp_demotion
        if have != want:
            return Verdict.wait(f"{node.name} demotion is {have}, expected {want}")
        return Verdict.ok(f"{node.name} demotion back to {have}")

    def verify_layout_restored(self, op, step) -> Verdict:
        restored = self.verify_restored(op, step)
        if restored.state != "ok":
            return restored
        node, _ = pair_of(op)
        was = op.facts[node.name]["vhids"]
        now = {str(k): v for k, v in vhid_states(node).items()}
        differ = sorted((v for v in was if now.get(v) != was[v]), key=int)
        if differ:
            return Verdict.wait(
                f"{node.name} not yet back as before on vhid {', '.join(differ)} "
                f"({', '.join(f'{v}: {now.get(v)} not {was[v]}' for v in differ)})"
            )
        return Verdict.ok(f"{node.name} demotion and vhids back as before")

    def done_demote(self, op, step) -> bool | None:
        node, _ = pair_of(op)
        before = op.facts[node.name]["demotion"] or 0
        return {before + DEMOTION: True, before: False}.get(_facts_row(node).carp_demotion)

    def done_undemote(self, op, step) -> bool | None:
        node, _ = pair_of(op)
        before = op.facts[node.name]["demotion"] or 0
        return {before: True, before + DEMOTION: False}.get(_facts_row(node).carp_demotion)


def pair_of(op) -> tuple[Host, Host]:
    hosts = {
        h.pk: h for h in Host.objects.select_related("facts").filter(pk__in=op.affected_host_ids)
    }
    node = hosts[op.host_id]
    peer = next(h for pk, h in hosts.items() if pk != op.host_id)
    return node, peer


@register
class CarpMaintenanceEnd(_CarpBase):
    kind = "carp-maintenance-end"
    title = "End CARP maintenance of a member"
    target_help = "cluster name (param node=HOST) or a member host name"
    button = "End maintenance"

    def silences_ended_by(self, op) -> list:
        return list(
            Operation.objects.filter(
                kind=CarpMaintenance.kind,
                cluster_id=op.cluster_id,
                host_id=op.host_id,
                state="succeeded",
            )
        )

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        node = target.extra["node"]
        checks = self._common_checks(target, facts, now)
        demotion = facts[node.name]["demotion"] or 0
        checks.append(
            Check(
                "node in maintenance",
                demotion >= DEMOTION,
                f"{node.name} demotion is {demotion}"
                + ("" if demotion >= DEMOTION else f": not in maintenance (expected ≥ {DEMOTION})"),
            )
        )
        return checks

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        node, peer = target.extra["node"], target.extra["peer"]
        before = facts[node.name]["demotion"] or 0
        primary = target.cluster.members.filter(host=node, role="primary").exists()
        preempt = facts[peer.name]["preempt"] == 1
        returns = primary and preempt
        window = verify_window(target.hosts)
        return [
            StepSpec(
                key="unpersist",
                title="Remove the boot-time demotion",
                host=node,
                cmd=commands.remove_file(PERSIST_FILE),
                why="a later reboot must not demote the node again",
                success="file removed (exit 0)",
                undo=f"write {PERSIST_FILE} again",
                idempotent=True,
            ),
            StepSpec(
                key="undemote",
                title=f"Restore {node.name}'s demotion",
                host=node,
                cmd=commands.carp_demotion_adjust(-DEMOTION),
                why="the node may hold MASTER again",
                success=f"demotion {before} -> {before - DEMOTION}"
                + (
                    f"; every vhid back on {node.name} (preempt)"
                    if returns
                    else "; vhids stay where they are (preempt off or node is not the primary)"
                ),
                undo=f"sysctl net.inet.carp.demotion={DEMOTION} on {node.name}",
                verify="returned" if returns else "restored",
                window=window,
                data={"expect": before - DEMOTION, "before": before},
            ),
        ]

    def verify_restored(self, op, step) -> Verdict:
        return CarpMaintenance.verify_restored(self, op, step)

    def verify_returned(self, op, step) -> Verdict:
        restored = self.verify_restored(op, step)
        if restored.state != "ok":
            return restored
        node, _ = pair_of(op)
        states = vhid_states(node)
        back = sorted(v for v, s in states.items() if s != "MASTER")
        if back:
            return Verdict.wait(f"{node.name} not yet MASTER on vhid {', '.join(map(str, back))}")
        return Verdict.ok(f"{node.name} is MASTER on every vhid again")

    def done_undemote(self, op, step) -> bool | None:
        node, _ = pair_of(op)
        before = step.spec["data"]["before"]
        have = _facts_row(node).carp_demotion
        return {before - DEMOTION: True, before: False}.get(have)
