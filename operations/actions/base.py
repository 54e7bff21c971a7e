"""The interface every operation kind implements, and the small value types it returns.

Owns the contract between a kind and the engine:
- `params_form`: a Django form; its field errors name the bad parameter.
- `resolve(target, params) -> Target`: what the operation acts on (a cluster, hosts, ...).
- `facts(target, params) -> dict`: the observed facts the plan depends on (hashed: an
  approval is void when they change). Only slow-moving values belong here.
- `preflight(target, params, facts, now) -> [Check]`: verdicts; a failed hard check refuses.
- `plan(target, params, facts) -> [StepSpec]`: every step with host, exact command, why,
  what success looks like, how it is undone.
- `predicted_findings(target, params, facts) -> [dedup key]`: what will fire on purpose.
- `verify_<name>(op, step) -> Verdict`: read the freshly polled state after a step.
- `done_<key>(op, step) -> bool | None`: after an interrupted run, did this non-idempotent
  step take effect (True), not (False), or cannot tell (None → needs attention)?

Must not: run commands or write operation rows (the engine does); build a command other than
through hosts.freebsd.commands.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from hosts.freebsd.commands import Cmd
from hosts.health.verdicts import configured_thresholds, freshness
from hosts.models import Cluster, ClusterMember, Host


@dataclass
class Check:
    name: str
    ok: bool
    message: str
    hard: bool = True


@dataclass
class Target:
    label: str
    cluster: Cluster | None = None
    host: Host | None = None
    hosts: list[Host] = field(default_factory=list)  # affected hosts (locked, polled)
    extra: dict = field(default_factory=dict)


@dataclass
class StepSpec:
    """One planned step. `cmd` None means a step without a command (a wait, a person)."""

    key: str
    title: str
    host: Host | None
    cmd: Cmd | None
    why: str
    success: str
    undo: str
    idempotent: bool = False
    verify: str = ""  # name of the kind's verify_<name> method; "" = exit status 0 suffices
    window: float = 0.0  # seconds the verify may take
    rollback: StepSpec | None = None
    allowed_exit: tuple[int, ...] = (0,)
    ask: str = ""  # a person must answer (confirm / decide) before the run goes on
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "host_id": self.host.pk if self.host else None,
            "host": self.host.name if self.host else "",
            "script": self.cmd.script if self.cmd else "",
            "argv": list(self.cmd.argv) if self.cmd else [],
            "stdin": self.cmd.stdin.decode() if self.cmd and self.cmd.stdin is not None else None,
            "why": self.why,
            "success": self.success,
            "undo": self.undo,
            "idempotent": self.idempotent,
            "verify": self.verify,
            "window": self.window,
            "allowed_exit": list(self.allowed_exit),
            "ask": self.ask,
            "data": self.data,
            "rollback": self.rollback.to_json() if self.rollback else None,
        }


@dataclass
class Verdict:
    state: str  # "ok" | "wait" | "fail"
    message: str
    progress: float | None = None

    @classmethod
    def ok(cls, message: str) -> Verdict:
        return cls("ok", message)

    @classmethod
    def wait(cls, message: str, progress: float | None = None) -> Verdict:
        return cls("wait", message, progress)

    @classmethod
    def fail(cls, message: str) -> Verdict:
        return cls("fail", message)


class EmptyParams(forms.Form):
    pass


class Action:
    kind = ""
    title = ""
    target_help = ""
    button = ""  # label of the button on the target's page
    params_form: type[forms.Form] = EmptyParams
    # The state it leaves behind is itself expected (a member in maintenance): keep the
    # silence after success, until an operation whose silences_ended_by() names it ends.
    silence_outlasts_success = False
    # Verifications (`verify_<name>`) whose verdict reads counters such as current sessions:
    # the engine has the poll store this moment's, not the last once-a-minute sample.
    counter_verifications: frozenset[str] = frozenset()

    def silences_ended_by(self, op) -> list:
        """Earlier operations whose lasting silence this one ends when it finishes."""
        return []

    @property
    def needs_second_person(self) -> bool:
        policy = settings.NYIOPS_OPERATION_APPROVAL.get(self.kind, {})
        return bool(policy.get("second_person", False))

    def clean_params(self, params: dict) -> dict:
        form = self.params_form(data=params)
        if not form.is_valid():
            raise ValidationError(
                {name: errs for name, errs in form.errors.items()}, code="invalid"
            )
        return {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}

    def resolve(self, target: str, params: dict) -> Target:
        raise NotImplementedError

    def facts(self, target: Target, params: dict) -> dict:
        raise NotImplementedError

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        raise NotImplementedError

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        raise NotImplementedError

    def predicted_findings(self, target: Target, params: dict, facts: dict) -> list[str]:
        return []

    def diff(self, target: Target, params: dict, facts: dict) -> str:
        return ""


def facts_hash(facts: dict) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def guardrail_thresholds():
    """The health thresholds, with staleness at two poll intervals: a guardrail trusts data
    less than a dashboard does (RELIABILITY §3.4)."""
    return replace(configured_thresholds(), poll_stale_intervals=2)


def freshness_of(host: Host, now: datetime) -> str:
    return freshness(
        host.reachability, host.last_success_at, host.poll_interval, now, guardrail_thresholds()
    )


def is_fresh(host: Host, now: datetime) -> bool:
    return freshness_of(host, now) == "ok"


def freshness_check(hosts: list[Host], now: datetime) -> Check:
    bad = []
    for h in hosts:
        fresh = freshness_of(h, now)
        if fresh == "unreachable" or fresh == "new":
            bad.append(f"{h.name} is {h.reachability}: {h.reachability_reason or 'no data'}")
        elif fresh != "ok":
            age = (now - h.last_success_at).total_seconds() if h.last_success_at else None
            bad.append(f"{h.name} data is stale ({age:.0f} s old)" if age else f"{h.name}: no data")
    if bad:
        return Check("fresh data", False, "; ".join(bad))
    return Check("fresh data", True, "every affected host reachable and polled recently")


def cluster_members(cluster: Cluster) -> list[Host]:
    return [
        m.host
        for m in ClusterMember.objects.filter(cluster=cluster)
        .select_related("host", "host__facts", "host__credential")
        .order_by("host__pk")
    ]


def cluster_of_target(text: str) -> tuple[Cluster, Host | None]:
    """A cluster by name, or a host by name and its (only) cluster."""
    cluster = Cluster.objects.filter(name=text).first()
    if cluster is not None:
        return cluster, None
    host = Host.objects.filter(name=text).first()
    if host is None:
        raise ValidationError({"target": f"no cluster or host named {text!r}"})
    clusters = list(Cluster.objects.filter(members__host=host))
    if len(clusters) != 1:
        raise ValidationError(
            {"target": f"{text} is in {len(clusters)} clusters; name the cluster"}
        )
    return clusters[0], host


def step_summary(spec: dict) -> str:
    return f"{spec['host'] or '-'}: {spec['script'] or spec['title']}"


__all__ = [
    "Action",
    "Check",
    "StepSpec",
    "Target",
    "Verdict",
    "asdict",
    "cluster_members",
    "cluster_of_target",
    "facts_hash",
    "freshness_check",
    "is_fresh",
]
