"""HAProxy drain and undrain of one server on both members of a load-balancer pair.

Both LBs take traffic for their VIPs in turn, so a server taken out of one and not the other
still gets sessions after a failover: every change is made on both. The capacity guard
(RELIABILITY E6) counts servers UP on each LB and refuses a drain that would leave fewer than
max(minimum, share x total). Drain first (existing sessions finish), wait for sessions to reach
0 on both (or a deadline, then a person chooses: force MAINT or abort), then MAINT, then save
the runtime state where `load-server-state-from-file` reads it, so a reload keeps it.

Must not: build a command except through hosts.freebsd.commands; run anything itself.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from hosts.freebsd import commands
from hosts.health.verdicts import configured_thresholds, server_is_up, servers_needed
from hosts.models import Cluster, HaproxyServer, Host
from operations import locks
from operations.actions import register
from operations.actions.base import (
    Action,
    Check,
    StepSpec,
    Target,
    Verdict,
    cluster_members,
    freshness_check,
)


class DrainParams(forms.Form):
    cluster = forms.CharField(
        max_length=63, required=False, help_text="The LB pair, when the backend name is not unique."
    )


def _split(target: str) -> tuple[str, str]:
    backend, sep, server = target.partition("/")
    if (
        not sep
        or not commands.valid_haproxy_name(backend)
        or not commands.valid_haproxy_name(server)
    ):
        raise ValidationError({"target": "give the server as BACKEND/SERVER"})
    return backend, server


def servers_of(host: Host, backend: str) -> dict[str, HaproxyServer]:
    return {
        s.name: s
        for s in HaproxyServer.objects.present().filter(
            backend__host=host, backend__name=backend, backend__gone_at__isnull=True
        )
    }


is_up = server_is_up  # the one judge's word for a serving server


class _DrainBase(Action):
    params_form = DrainParams

    def resolve(self, target: str, params: dict) -> Target:
        backend, server = _split(target)
        clusters = Cluster.objects.filter(kind="loadbalancer")
        if params.get("cluster"):
            clusters = clusters.filter(name=params["cluster"])
        found = [
            c
            for c in clusters
            if HaproxyServer.objects.present()
            .filter(backend__host__memberships__cluster=c, backend__name=backend, name=server)
            .exists()
        ]
        if not found:
            raise ValidationError({"target": f"no load-balancer pair serves {backend}/{server}"})
        if len(found) > 1:
            raise ValidationError(
                {
                    "cluster": f"{backend}/{server} is on {', '.join(c.name for c in found)}: "
                    "choose one"
                }
            )
        cluster = found[0]
        members = cluster_members(cluster)
        return Target(
            label=f"{backend}/{server} on {cluster.name}",
            cluster=cluster,
            host=None,
            hosts=members,
            extra={"backend": backend, "server": server},
        )

    def facts(self, target: Target, params: dict) -> dict:
        backend = target.extra["backend"]
        return {
            h.name: {
                "reachability": h.reachability,
                "servers": {n: s.status for n, s in sorted(servers_of(h, backend).items())},
            }
            for h in target.hosts
        }

    def _lock_check(self, target: Target, now) -> Check:
        holder = locks.holder_of(
            [f"cluster:{target.cluster.pk}"] + [f"host:{h.pk}" for h in target.hosts], now
        )
        if holder is None:
            return Check("no other operation", True, "no operation holds the pair")
        op = holder.operation
        return Check(
            "no other operation",
            False,
            f"pair busy: {op.label} ({op.kind}) by {op.requested_by_name} since "
            f"{holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC",
        )

    def _set_steps(self, target: Target, state: str, verify: str, window: float, undo_state):
        backend, server = target.extra["backend"], target.extra["server"]
        steps = []
        for h in target.hosts:
            rollback = None
            if undo_state:
                rollback = StepSpec(
                    key=f"{undo_state}@{h.name}",
                    title=f"Put {server} back to {undo_state} on {h.name}",
                    host=h,
                    cmd=commands.haproxy_set_state(backend, server, undo_state),
                    why="roll back",
                    success=f"{server} back in rotation on {h.name}",
                    undo="-",
                    idempotent=True,
                )
            steps.append(
                StepSpec(
                    key=f"{state}@{h.name}",
                    title=f"Set {backend}/{server} to {state.upper()} on {h.name}",
                    host=h,
                    cmd=commands.haproxy_set_state(backend, server, state),
                    why={
                        "drain": "no new sessions; existing ones finish",
                        "maint": "out of rotation, health checks stop",
                        "ready": "back in rotation",
                    }[state],
                    success=f"{server} shows {verify.upper()} on {h.name}",
                    undo=f"set server {backend}/{server} state {undo_state or 'ready'}",
                    idempotent=True,  # setting a state twice leaves the same state
                    verify=f"status_{verify}",
                    window=window,
                    rollback=rollback,
                    data={"lb": h.pk},
                )
            )
        return steps

    def _save_steps(self, target: Target) -> list[StepSpec]:
        return [
            StepSpec(
                key=f"save@{h.name}",
                title=f"Save the server state on {h.name}",
                host=h,
                cmd=commands.haproxy_save_state(),
                why="a reload (load-server-state-from-file) keeps the admin state",
                success="state file written",
                undo="-",
                idempotent=True,
            )
            for h in target.hosts
        ]

    def _status_verdict(self, op, step, want: str) -> Verdict:
        host = Host.objects.get(pk=step.spec["data"]["lb"])
        backend, server = op.params["_backend"], op.params["_server"]
        s = servers_of(host, backend).get(server)
        status = s.status if s else "missing"
        ok = is_up(status) if want == "UP" else status.startswith(want)
        if ok:
            return Verdict.ok(f"{server} is {status} on {host.name}")
        return Verdict.wait(f"{server} is {status} on {host.name}, waiting for {want}")

    def verify_status_drain(self, op, step) -> Verdict:
        return self._status_verdict(op, step, "DRAIN")

    def verify_status_maint(self, op, step) -> Verdict:
        return self._status_verdict(op, step, "MAINT")

    def verify_status_up(self, op, step) -> Verdict:
        return self._status_verdict(op, step, "UP")

    def predicted_findings(self, target: Target, params: dict, facts: dict) -> list[str]:
        backend = target.extra["backend"]
        keys = []
        for h in target.hosts:
            keys += [
                f"member_down:host:{h.name}:{backend}",
                f"backend_capacity:host:{h.name}:{backend}",
            ]
        return keys


@register
class HaproxyDrain(_DrainBase):
    kind = "haproxy-drain"
    title = "Drain a server on both load balancers"
    target_help = "BACKEND/SERVER (param cluster=LBPAIR if ambiguous)"
    button = "Drain"
    counter_verifications = frozenset({"sessions_zero"})

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        server = target.extra["server"]
        checks = [freshness_check(target.hosts, now), self._lock_check(target, now)]
        limits = configured_thresholds()
        for h in target.hosts:
            statuses = facts[h.name]["servers"]
            if server not in statuses:
                checks.append(Check(f"capacity on {h.name}", False, f"{server} not on {h.name}"))
                continue
            total = len(statuses)
            up_after = sum(1 for n, st in statuses.items() if n != server and is_up(st))
            need = servers_needed(total, limits)  # the backend_capacity rule's own number
            checks.append(
                Check(
                    f"capacity on {h.name}",
                    up_after >= need,
                    f"{up_after} of {total} servers stay UP on {h.name} (need {need}: at least "
                    f"1 and {limits.backend_min_up_share:.0%})",
                )
            )
            already = statuses[server]
            checks.append(
                Check(
                    f"{server} in rotation on {h.name}",
                    not already.startswith("MAINT"),
                    f"{server} is {already} on {h.name}",
                )
            )
        return checks

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        backend, server = target.extra["backend"], target.extra["server"]
        wait = settings.NYIOPS_DRAIN_WAIT_SECONDS
        return [
            *self._set_steps(target, "drain", "drain", 30, "ready"),
            StepSpec(
                key="sessions",
                title=f"Wait until {server} has no sessions on both LBs",
                host=None,
                cmd=None,
                why="MAINT on a server with live sessions cuts them",
                success=f"current sessions 0 on both within {wait} s; else a person chooses "
                "to force MAINT or abort",
                undo="-",
                idempotent=True,
                verify="sessions_zero",
                window=wait,
                ask="decide",
                data={"backend": backend, "server": server},
            ),
            *self._set_steps(target, "maint", "maint", 30, "ready"),
            *self._save_steps(target),
        ]

    def verify_sessions_zero(self, op, step) -> Verdict:
        backend, server = op.params["_backend"], op.params["_server"]
        left = {}
        for h in Host.objects.filter(pk__in=op.affected_host_ids):
            s = servers_of(h, backend).get(server)
            left[h.name] = s.scur if s and s.scur is not None else None
        busy = {n: c for n, c in left.items() if c != 0}
        if busy:
            shown = ", ".join(f"{n}: {'?' if c is None else c}" for n, c in busy.items())
            return Verdict.wait(f"{server} still has sessions ({shown})")
        return Verdict.ok(f"{server} has no sessions on either LB")


@register
class HaproxyUndrain(_DrainBase):
    kind = "haproxy-undrain"
    title = "Put a drained server back on both load balancers"
    target_help = "BACKEND/SERVER (param cluster=LBPAIR if ambiguous)"
    button = "Undrain"

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        server = target.extra["server"]
        checks = [freshness_check(target.hosts, now), self._lock_check(target, now)]
        for h in target.hosts:
            status = facts[h.name]["servers"].get(server, "missing")
            checks.append(
                Check(f"{server} on {h.name}", status != "missing", f"{server} is {status}")
            )
        return checks

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        # rise x inter of the health check: a few seconds in practice; 60 s is generous.
        return [*self._set_steps(target, "ready", "up", 60, None), *self._save_steps(target)]
