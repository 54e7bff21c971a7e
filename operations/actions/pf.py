"""pf ruleset push to a firewall pair, BACKUP member first, with confirm-or-revert.

Order and why:
1. upload the candidate to both (`cat > FILE`, content on stdin) and `pfctl -nf` it on both:
   a syntax error stops everything before any ruleset is loaded anywhere (RELIABILITY E5);
2. save the current ruleset on both (`cp /etc/pf.conf` to a saved copy);
3. per member, BACKUP first: arm a host-side dead man (daemon(8) sleeps then reloads the saved
   copy), load, verify (reachable by SSH, pf enabled, pfsync in sync). The dead man is what
   reverts a ruleset that cuts management access, since nyiops then cannot reach the host;
4. a person confirms within NYIOPS_PF_CONFIRM_SECONDS; then the timers are cancelled and the
   candidate becomes /etc/pf.conf. No answer (or abort): every loaded member goes back to
   the saved ruleset, by our command or, if unreachable, by its own timer.

Must not: build a command except through hosts.freebsd.commands; run anything itself.
"""

from __future__ import annotations

import difflib
from datetime import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from hosts.freebsd import commands
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

WORKDIR = "/var/db/nyiops"
CANDIDATE = f"{WORKDIR}/pf.conf.new"
SAVED = f"{WORKDIR}/pf.conf.saved"
LIVE = "/etc/pf.conf"
MAX_RULESET = 1 << 20


class PfParams(forms.Form):
    ruleset = forms.CharField(
        widget=forms.Textarea,
        max_length=MAX_RULESET,
        help_text="The candidate pf.conf (the CLI reads it from --param file=PATH).",
    )

    def clean_ruleset(self):
        text = self.cleaned_data["ruleset"].replace("\r\n", "\n")
        if "\x00" in text:
            raise ValidationError("the ruleset contains a NUL byte")
        return text if text.endswith("\n") else text + "\n"


def _facts(host) -> HostFacts:
    try:
        return host.facts
    except HostFacts.DoesNotExist:
        return HostFacts(host=host)


def masters_of(host) -> int:
    return CarpVhid.objects.present().filter(host=host, state="MASTER").count()


@register
class PfPush(Action):
    kind = "pf-push"
    title = "Push a pf ruleset to a firewall pair"
    target_help = "firewall cluster name (param ruleset, or file=PATH on the CLI)"
    button = "Push ruleset"
    params_form = PfParams

    def resolve(self, target: str, params: dict) -> Target:
        cluster, _ = cluster_of_target(target)
        if cluster.kind not in ("firewall", "vpn"):
            raise ValidationError({"target": f"{cluster.name} is not a firewall pair"})
        members = cluster_members(cluster)
        # BACKUP first: the member holding fewer vhids as MASTER carries less traffic.
        order = sorted(members, key=lambda h: (masters_of(h), h.pk))
        return Target(
            label=cluster.name,
            cluster=cluster,
            hosts=members,
            extra={"order": order, "first": order[0].name},
        )

    def facts(self, target: Target, params: dict) -> dict:
        return {
            h.name: {
                "reachability": h.reachability,
                "ruleset": _facts(h).pf_ruleset_hash,
                "pf_enabled": _facts(h).pf_enabled,
                "masters": masters_of(h),
            }
            for h in target.hosts
        }

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        checks = [freshness_check(target.hosts, now)]
        holder = locks.holder_of(
            [f"cluster:{target.cluster.pk}"] + [f"host:{h.pk}" for h in target.hosts], now
        )
        checks.append(
            Check("no other operation", holder is None, "no operation holds the pair")
            if holder is None
            else Check(
                "no other operation",
                False,
                f"pair busy: {holder.operation.label} ({holder.operation.kind}) by "
                f"{holder.operation.requested_by_name} since "
                f"{holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC",
            )
        )
        disabled = [n for n, f in facts.items() if f["pf_enabled"] is False]
        checks.append(
            Check(
                "pf enabled",
                not disabled,
                f"pf disabled on {', '.join(disabled)}" if disabled else "pf enabled on both",
            )
        )
        bad_sync = [
            h.name
            for h in target.hosts
            if _facts(h).pfsync_present is False or _facts(h).pfsync_syncok == 0
        ]
        checks.append(
            Check(
                "pfsync in sync",
                not bad_sync,
                f"pfsync not in sync on {', '.join(bad_sync)}" if bad_sync else "pfsync in sync",
            )
        )
        rules = [ln for ln in params["ruleset"].splitlines() if ln.split("#", 1)[0].strip()]
        checks.append(Check("candidate not empty", bool(rules), f"{len(rules)} non-comment lines"))
        return checks

    def diff(self, target: Target, params: dict, facts: dict) -> str:
        master = max(target.hosts, key=lambda h: (masters_of(h), -h.pk))
        loaded = (_facts(master).raw_outputs or {}).get("pfctl-rules", {}).get("output", "")
        candidate = [
            ln.split("#", 1)[0].strip()
            for ln in params["ruleset"].splitlines()
            if ln.split("#", 1)[0].strip()
        ]
        current = [ln.strip() for ln in loaded.splitlines() if ln.strip()]
        return "\n".join(
            difflib.unified_diff(
                current,
                candidate,
                f"loaded on {master.name} (pfctl -sr)",
                "candidate (comments dropped)",
                lineterm="",
            )
        )

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        order = target.extra["order"]
        confirm = settings.NYIOPS_PF_CONFIRM_SECONDS
        dead_man = confirm + settings.NYIOPS_PF_REVERT_MARGIN_SECONDS
        steps: list[StepSpec] = []
        for h in order:
            steps.append(
                StepSpec(
                    key=f"mkdir@{h.name}",
                    title=f"Work directory on {h.name}",
                    host=h,
                    cmd=commands.make_dir(WORKDIR),
                    why="where the candidate and the saved copy live",
                    success="exit 0",
                    undo="-",
                    idempotent=True,
                )
            )
            steps.append(
                StepSpec(
                    key=f"upload@{h.name}",
                    title=f"Upload the candidate to {h.name}",
                    host=h,
                    cmd=commands.write_file(CANDIDATE, params["ruleset"]),
                    why="pfctl checks and loads a file on the host",
                    success="exit 0",
                    undo="-",
                    idempotent=True,
                )
            )
        for h in order:
            steps.append(
                StepSpec(
                    key=f"check@{h.name}",
                    title=f"Syntax check on {h.name}",
                    host=h,
                    cmd=commands.pf_check(CANDIDATE),
                    why="a ruleset with a syntax error is never loaded anywhere",
                    success="pfctl -nf exits 0",
                    undo="-",
                    idempotent=True,
                )
            )
        for h in order:
            steps.append(
                StepSpec(
                    key=f"save@{h.name}",
                    title=f"Save the current ruleset on {h.name}",
                    host=h,
                    cmd=commands.copy_file(LIVE, SAVED),
                    why="what a revert loads",
                    success="exit 0",
                    undo="-",
                    idempotent=True,
                )
            )
        for h in order:
            cancel = StepSpec(
                key=f"disarm@{h.name}",
                title=f"Cancel the revert timer on {h.name}",
                host=h,
                cmd=commands.pf_cancel_revert(),
                why="roll back",
                success="timer gone",
                undo="-",
                idempotent=True,
                allowed_exit=(0, 1),
                data={"tolerate_unreachable": True},
            )
            steps.append(
                StepSpec(
                    key=f"arm@{h.name}",
                    title=f"Arm the revert timer on {h.name} ({dead_man} s)",
                    host=h,
                    cmd=commands.pf_arm_revert(SAVED, dead_man),
                    why="if the new ruleset cuts management access, the host reverts by itself",
                    success="daemon started",
                    undo=f"pkill -F {commands.PF_REVERT_PIDFILE}",
                    idempotent=False,
                    rollback=cancel,
                )
            )
            restore = StepSpec(
                key=f"restore@{h.name}",
                title=f"Reload the saved ruleset on {h.name}",
                host=h,
                cmd=commands.pf_load(SAVED),
                why="roll back",
                success="ruleset as before the push, host reachable",
                undo="-",
                idempotent=True,
                verify="restored",
                window=dead_man + 15,
                data={"host": h.pk, "tolerate_unreachable": True},
            )
            steps.append(
                StepSpec(
                    key=f"load@{h.name}",
                    title=f"Load the candidate on {h.name}",
                    host=h,
                    cmd=commands.pf_load(CANDIDATE),
                    why="BACKUP member first: a bad ruleset hits the member without traffic"
                    if h == order[0]
                    else "then the MASTER, once the BACKUP is verified",
                    success="still reachable over SSH, pf enabled, pfsync in sync",
                    undo=f"pfctl -f {SAVED} (or the timer does it)",
                    idempotent=True,
                    verify="loaded",
                    window=15,
                    rollback=restore,
                    data={"host": h.pk},
                )
            )
        steps.append(
            StepSpec(
                key="confirm",
                title="A person confirms the new ruleset",
                host=None,
                cmd=None,
                why="confirm-or-revert: nobody confirming means something is wrong",
                success=f"confirmed within {confirm} s; otherwise both members revert",
                undo="-",
                idempotent=True,
                ask="confirm",
                data={"prompt": "check that traffic flows, then confirm to keep the ruleset"},
            )
        )
        for h in order:
            steps.append(
                StepSpec(
                    key=f"keep@{h.name}",
                    title=f"Cancel the revert timer on {h.name}",
                    host=h,
                    cmd=commands.pf_cancel_revert(),
                    why="confirmed",
                    success="timer gone",
                    undo="-",
                    idempotent=True,
                    allowed_exit=(0, 1),
                )
            )
            steps.append(
                StepSpec(
                    key=f"install@{h.name}",
                    title=f"Install as {LIVE} on {h.name}",
                    host=h,
                    cmd=commands.copy_file(CANDIDATE, LIVE),
                    why="the next boot loads the confirmed ruleset",
                    success="exit 0",
                    undo=f"cp {SAVED} {LIVE}",
                    idempotent=True,
                )
            )
        return steps

    def _host(self, step):
        return Host.objects.select_related("facts").get(pk=step.spec["data"]["host"])

    def verify_loaded(self, op, step) -> Verdict:
        host = self._host(step)
        if host.reachability != "ok":
            return Verdict.fail(
                f"{host.name} unreachable after the load ({host.reachability_reason}): "
                "management access lost"
            )
        f = _facts(host)
        if f.pf_enabled is False:
            return Verdict.fail(f"pf disabled on {host.name} after the load")
        if f.pfsync_present is False or f.pfsync_syncok == 0:
            return Verdict.wait(f"pfsync not in sync on {host.name}")
        return Verdict.ok(f"{host.name} reachable, pf enabled, pfsync in sync")

    def verify_restored(self, op, step) -> Verdict:
        host = self._host(step)
        if host.reachability != "ok":
            return Verdict.wait(f"{host.name} unreachable; waiting for its revert timer")
        want = op.facts[host.name]["ruleset"]
        if _facts(host).pf_ruleset_hash != want:
            return Verdict.wait(f"{host.name} ruleset not yet back to {want[:12]}")
        return Verdict.ok(f"{host.name} back on the saved ruleset")

    def predicted_findings(self, target: Target, params: dict, facts: dict) -> list[str]:
        # Between the two loads the members differ on purpose.
        return [f"pair_config_drift:cluster:{target.cluster.name}"]
