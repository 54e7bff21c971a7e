"""Jail lifecycle kinds: jail-create, jail-twin, jail-start, jail-stop, jail-restart.

A jail is a ZFS dataset (cloned from a release template snapshot, or created empty, with a
quota), a `/etc/jail.conf.d/NAME.conf` entry and a started jail; the last step is verified
from a fresh poll (`jls` shows it running with its address). A twin is the white paper's
staging copy: a snapshot of the production jail's dataset, a clone of it with its own quota,
and a config identical but for the name, host name and address. A clone lives in its
source's pool, so a twin is always on its source's host.

Every forward step carries its compensating step; the engine runs them in reverse when a
later step fails (RELIABILITY E7) and stops in needs_attention when one of them fails too.
Planning is idempotent: when the jail is already observed on the host with the planned
address, the plan is a single verification and nothing is created twice.

Must not: run commands or write rows (the engine does); build a command other than through
hosts.freebsd.commands; take a name, address or host name that the form did not validate.
"""

from __future__ import annotations

import ipaddress
import posixpath
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError

from customers.quotas import limit_for
from hosts.freebsd import commands
from hosts.models import Host, Jail, ZPool
from operations import locks
from operations.actions import register
from operations.actions.base import Action, Check, StepSpec, Target, Verdict, freshness_check

JAIL_ROOT = "/usr/local/jails"
JAIL_POOL = "zroot"
START_WINDOW = 20.0  # seconds a started jail may take to show in jls


def _jail_name(value: str) -> str:
    if not commands.valid_jail(value):
        raise ValidationError("Not a jail name: a lowercase letter, then letters, digits, - or _.")
    return value


class JailParams(forms.Form):
    name = forms.CharField(max_length=32, validators=[_jail_name])


class CreateParams(JailParams):
    hostname = forms.CharField(max_length=253)
    ip = forms.GenericIPAddressField(protocol="IPv4")
    size_gb = forms.IntegerField(min_value=1, max_value=100_000)
    template = forms.CharField(max_length=200, required=False, help_text="DATASET@SNAPSHOT")
    request = forms.IntegerField(required=False, help_text="the customer's jail request")

    def clean_hostname(self):
        from customers.validators import hostname_validator

        value = self.cleaned_data["hostname"]
        hostname_validator(value)
        return value

    def clean_template(self):
        value = self.cleaned_data["template"]
        if value:
            dataset, _, snap = value.partition("@")
            if not (commands.valid_dataset(dataset) and snap and commands.valid_dataset(snap)):
                raise ValidationError("Give the template as DATASET@SNAPSHOT.")
        return value


class TwinParams(CreateParams):
    source = forms.CharField(max_length=32, validators=[_jail_name], help_text="jail to copy")


def jail_conf(name: str, hostname: str, ip: str, path: str) -> str:
    """The jail.conf(5) entry. Values come validated (jail name, RFC 1123 host name, IPv4,
    a path of safe characters) and the text goes on stdin, never on a command line."""
    ipaddress.IPv4Address(ip)
    return (
        f"{name} {{\n"
        f'    host.hostname = "{hostname}";\n'
        f'    path = "{path}";\n'
        f'    ip4.addr = "{ip}";\n'
        '    exec.start = "/bin/sh /etc/rc";\n'
        '    exec.stop = "/bin/sh /etc/rc.shutdown";\n'
        "    exec.clean;\n"
        "    mount.devfs;\n"
        "}\n"
    )


def observed(host: Host, name: str) -> Jail | None:
    return Jail.objects.present().filter(host=host, name=name).first()


def jail_pool(host: Host) -> str:
    names = set(ZPool.objects.present().filter(host=host).values_list("name", flat=True))
    return JAIL_POOL if JAIL_POOL in names or not names else sorted(names)[0]


class _JailAction(Action):
    def resolve(self, target: str, params: dict) -> Target:
        host = Host.objects.filter(name=target).first()
        if host is None or not host.has_role("jailhost"):
            raise ValidationError({"target": f"no jail host named {target!r}"})
        return Target(label=f"{params['name']} on {host.name}", host=host, hosts=[host])

    def _lock_check(self, target: Target, now) -> Check:
        holder = locks.holder_of([f"host:{target.host.pk}"], now)
        if holder is None:
            return Check("no other operation", True, "no operation holds the host")
        return Check(
            "no other operation",
            False,
            f"host busy: {holder.operation.label} ({holder.operation.kind})",
        )

    def verify_running(self, op, step) -> Verdict:
        host = Host.objects.get(pk=step.host_id)
        jail = observed(host, op.params["name"])
        want_ip = op.params.get("ip")
        if jail is None:
            return Verdict.wait(f"{op.params['name']} not in jls on {host.name} yet")
        if not jail.running:
            return Verdict.wait(f"{jail.name} is configured but not running on {host.name}")
        ips = {a.split("/")[0] for a in jail.ipv4 or []}
        if want_ip and want_ip not in ips:
            return Verdict.fail(f"{jail.name} runs with {', '.join(sorted(ips)) or 'no address'}")
        return Verdict.ok(f"{jail.name} running on {host.name} (jid {jail.jid})")

    def verify_stopped(self, op, step) -> Verdict:
        host = Host.objects.get(pk=step.host_id)
        jail = observed(host, op.params["name"])
        if jail is None or not jail.running:
            return Verdict.ok(f"{op.params['name']} not running on {host.name}")
        return Verdict.wait(f"{jail.name} still running on {host.name}")

    def done_start(self, op, step) -> bool | None:
        jail = observed(Host.objects.get(pk=step.host_id), op.params["name"])
        return bool(jail and jail.running)


def _stop_spec(host: Host, name: str, key: str = "stop") -> StepSpec:
    return StepSpec(
        key=key,
        title=f"Stop jail {name}",
        host=host,
        cmd=commands.jail_service("stop", name),
        why="undo the start",
        success=f"{name} not in jls",
        undo="-",
        idempotent=True,
        verify="stopped",
        window=START_WINDOW,
    )


class _Provision(_JailAction):
    """The shared shape of create and twin: dataset steps, then config, start, verify."""

    def facts(self, target: Target, params: dict) -> dict:
        jail = observed(target.host, params["name"])
        return {
            "host": target.host.name,
            "pool": jail_pool(target.host),
            "existing": None
            if jail is None
            else {"running": jail.running, "ipv4": sorted(jail.ipv4 or []), "path": jail.path},
        }

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        checks = [freshness_check([target.host], now), self._lock_check(target, now)]
        existing = facts["existing"]
        if existing is not None:
            ips = {a.split("/")[0] for a in existing["ipv4"]}
            same = params["ip"] in ips
            checks.append(
                Check(
                    "name free",
                    same,
                    f"{params['name']} already runs here with this address: nothing to create"
                    if same
                    else f"another jail named {params['name']} exists on {target.host.name} "
                    f"({', '.join(sorted(ips)) or 'no address'})",
                )
            )
        return checks

    def dataset_steps(self, target: Target, params: dict, facts: dict) -> tuple[list, str]:
        raise NotImplementedError

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        host, name = target.host, params["name"]
        if facts["existing"] is not None:
            # Re-running the same request: the jail is there; verify it, create nothing.
            return [
                StepSpec(
                    key="verify",
                    title=f"Verify {name} is running",
                    host=host,
                    cmd=None,
                    why="the jail already exists: a second one is never created",
                    success=f"{name} in jls with {params['ip']}",
                    undo="-",
                    verify="running",
                    window=START_WINDOW,
                )
            ]
        steps, path = self.dataset_steps(target, params, facts)
        conf_path = commands.jail_conf_path(name)
        steps.append(
            StepSpec(
                key="config",
                title=f"Write {conf_path}",
                host=host,
                cmd=commands.write_file(
                    conf_path, jail_conf(name, params["hostname"], params["ip"], path)
                ),
                why="service jail start reads /etc/jail.conf.d",
                success="file written",
                undo=f"rm -f {conf_path}",
                idempotent=True,
                rollback=StepSpec(
                    key="unconfig",
                    title=f"Remove {conf_path}",
                    host=host,
                    cmd=commands.remove_file(conf_path),
                    why="undo the config",
                    success="file gone",
                    undo="-",
                    idempotent=True,
                ),
            )
        )
        steps.append(
            StepSpec(
                key="start",
                title=f"Start jail {name}",
                host=host,
                cmd=commands.jail_service("start", name),
                why="the customer's jail runs",
                success=f"{name} in jls, running with {params['ip']}",
                undo=f"service jail stop {name}",
                verify="running",
                window=START_WINDOW,
                rollback=_stop_spec(host, name),
            )
        )
        return steps


def _destroy_spec(host: Host, dataset: str) -> StepSpec:
    return StepSpec(
        key="destroy",
        title=f"Destroy {dataset}",
        host=host,
        cmd=commands.zfs_destroy(dataset, recursive=True),
        why="undo the dataset",
        success="dataset gone",
        undo="-",
    )


@register
class JailCreate(_Provision):
    kind = "jail-create"
    title = "Create a jail"
    target_help = "jail host name"
    params_form = CreateParams

    def dataset_steps(self, target, params, facts):
        host, name = target.host, params["name"]
        dataset = f"{facts['pool']}/jails/{name}"
        path = posixpath.join(JAIL_ROOT, name)
        quota = f"{params['size_gb']}G"
        if params.get("template"):
            snap_ds, _, snap = params["template"].partition("@")
            # A clone inherits its parent's mount point: POOL/jails is mounted at JAIL_ROOT
            # on a jail host (docs/customers.md), so the root is JAIL_ROOT/NAME.
            cmd = commands.zfs_clone(snap_ds, snap, dataset, quota)
            title, why = f"Clone {params['template']} to {dataset}", "the release, ready to run"
        else:
            cmd = commands.zfs_create(dataset, quota, path)
            title, why = f"Create {dataset} ({quota})", "an empty jail root with its quota"
        return [
            StepSpec(
                key="dataset",
                title=title,
                host=host,
                cmd=cmd,
                why=why,
                success="dataset exists",
                undo=f"zfs destroy -r {dataset}",
                rollback=_destroy_spec(host, dataset),
            )
        ], path


@register
class JailTwin(_Provision):
    kind = "jail-twin"
    title = "Create a staging twin of a jail"
    target_help = "the source jail's host"
    params_form = TwinParams

    def facts(self, target, params):
        facts = super().facts(target, params)
        source = observed(target.host, params["source"])
        facts["source"] = None if source is None else {"path": source.path}
        return facts

    def preflight(self, target, params, facts, now):
        checks = super().preflight(target, params, facts, now)
        if facts["existing"] is None:
            checks.append(
                Check(
                    "source jail",
                    facts["source"] is not None,
                    f"{params['source']} is on {target.host.name}"
                    if facts["source"]
                    else f"no jail {params['source']} observed on {target.host.name}",
                )
            )
        return checks

    def dataset_steps(self, target, params, facts):
        host, name, source = target.host, params["name"], params["source"]
        pool = facts["pool"]
        src_ds, dataset = f"{pool}/jails/{source}", f"{pool}/jails/{name}"
        snap = f"twin-{name}"
        # The clone inherits the parent's mount point: beside the source's root.
        src_path = (facts.get("source") or {}).get("path") or posixpath.join(JAIL_ROOT, source)
        path = posixpath.join(posixpath.dirname(src_path.rstrip("/")) or "/", name)
        return [
            StepSpec(
                key="snapshot",
                title=f"Snapshot {src_ds}@{snap}",
                host=host,
                cmd=commands.zfs_snapshot(src_ds, snap),
                why="a consistent copy of production to clone",
                success="snapshot exists",
                undo=f"zfs destroy {src_ds}@{snap}",
                rollback=StepSpec(
                    key="unsnapshot",
                    title=f"Destroy {src_ds}@{snap}",
                    host=host,
                    cmd=commands.zfs_destroy(src_ds, snap),
                    why="undo the snapshot",
                    success="snapshot gone",
                    undo="-",
                ),
            ),
            StepSpec(
                key="dataset",
                title=f"Clone {src_ds}@{snap} to {dataset}",
                host=host,
                cmd=commands.zfs_clone(src_ds, snap, dataset, f"{params['size_gb']}G"),
                why="identical to production, its own quota",
                success="clone exists",
                undo=f"zfs destroy -r {dataset}",
                rollback=_destroy_spec(host, dataset),
            ),
        ], path


class _Lifecycle(_JailAction):
    params_form = JailParams
    target_help = "jail host name"
    verb = ""

    def facts(self, target: Target, params: dict) -> dict:
        jail = observed(target.host, params["name"])
        return {"exists": jail is not None}

    def preflight(self, target, params, facts, now):
        return [
            freshness_check([target.host], now),
            self._lock_check(target, now),
            Check(
                "jail known",
                facts["exists"],
                f"{params['name']} is on {target.host.name}"
                if facts["exists"]
                else f"no jail {params['name']} observed on {target.host.name}",
            ),
        ]

    def plan(self, target, params, facts):
        host, name = target.host, params["name"]
        verify = "stopped" if self.verb == "stop" else "running"
        return [
            StepSpec(
                key=self.verb,
                title=f"{self.verb.title()} jail {name}",
                host=host,
                cmd=commands.jail_service(self.verb, name),
                why=f"{self.verb} requested",
                success=f"{name} {'not ' if verify == 'stopped' else ''}running",
                undo="-",
                idempotent=True,
                verify=verify,
                window=START_WINDOW,
            )
        ]

    def done_start(self, op, step):  # the lifecycle steps are idempotent: never asked
        return None


@register
class JailStart(_Lifecycle):
    kind, title, verb = "jail-start", "Start a jail", "start"


@register
class JailStop(_Lifecycle):
    kind, title, verb = "jail-stop", "Stop a jail", "stop"


@register
class JailRestart(_Lifecycle):
    kind, title, verb = "jail-restart", "Restart a jail", "restart"


KEEP_FINAL_DAYS = 14


class DestroyParams(JailParams):
    confirm = forms.CharField(max_length=32, help_text="type the jail's name to confirm")

    def clean(self):
        data = super().clean()
        if data.get("name") and data.get("confirm") != data.get("name"):
            self.add_error("confirm", "Type the jail's name exactly to confirm.")
        return data


@register
class JailDestroy(_JailAction):
    """Stop the jail, take a final snapshot and set its config aside. The dataset and its
    final snapshot stay for KEEP_FINAL_DAYS (a purge after that is a separate, later step),
    so a destroy is undone by starting the jail again until then."""

    kind = "jail-destroy"
    title = "Destroy a jail (keeps a final snapshot)"
    target_help = "jail host name"
    params_form = DestroyParams

    def facts(self, target, params):
        jail = observed(target.host, params["name"])
        return {"exists": jail is not None, "pool": jail_pool(target.host)}

    def preflight(self, target, params, facts, now):
        return [
            freshness_check([target.host], now),
            self._lock_check(target, now),
            Check(
                "jail known",
                facts["exists"],
                f"{params['name']} is on {target.host.name}"
                if facts["exists"]
                else f"no jail {params['name']} observed on {target.host.name}",
            ),
        ]

    def plan(self, target, params, facts):
        host, name = target.host, params["name"]
        dataset = f"{facts['pool']}/jails/{name}"
        snap = f"final-{datetime.now().strftime('%Y%m%d%H%M')}"
        conf = commands.jail_conf_path(name)
        return [
            StepSpec(
                key="stop",
                title=f"Stop jail {name}",
                host=host,
                cmd=commands.jail_service("stop", name),
                why="nothing writes while the final snapshot is taken",
                success=f"{name} not running",
                undo=f"service jail start {name}",
                idempotent=True,
                verify="stopped",
                window=START_WINDOW,
                rollback=StepSpec(
                    key="restart",
                    title=f"Start jail {name} again",
                    host=host,
                    cmd=commands.jail_service("start", name),
                    why="undo the stop",
                    success=f"{name} running",
                    undo="-",
                    idempotent=True,
                ),
            ),
            StepSpec(
                key="final",
                title=f"Final snapshot {dataset}@{snap}",
                host=host,
                cmd=commands.zfs_snapshot(dataset, snap),
                why=f"kept {KEEP_FINAL_DAYS} days: the jail can be brought back",
                success="snapshot exists",
                undo=f"zfs destroy {dataset}@{snap}",
                rollback=StepSpec(
                    key="unfinal",
                    title=f"Destroy {dataset}@{snap}",
                    host=host,
                    cmd=commands.zfs_destroy(dataset, snap),
                    why="undo the snapshot",
                    success="snapshot gone",
                    undo="-",
                ),
            ),
            StepSpec(
                key="unconfig",
                title=f"Set {conf} aside",
                host=host,
                cmd=commands.move_file(conf, f"{conf}.destroyed"),
                why="service jail start no longer starts it",
                success="config set aside",
                undo=f"mv {conf}.destroyed {conf}",
                rollback=StepSpec(
                    key="reconfig",
                    title=f"Put {conf} back",
                    host=host,
                    cmd=commands.move_file(f"{conf}.destroyed", conf),
                    why="undo",
                    success="config back",
                    undo="-",
                ),
                data={"keep_until_days": KEEP_FINAL_DAYS},
            ),
        ]


class ResizeParams(JailParams):
    size_gb = forms.IntegerField(min_value=1, max_value=100_000, label="New size (GiB)")


@register
class JailResize(_JailAction):
    """Set a jail's dataset quota. Only jails nyiops created from a request: their current
    quota is known, so the step has an exact undo; a larger size must fit the customer's
    tier (the NOC approves every resize)."""

    kind = "jail-resize"
    title = "Resize a jail"
    target_help = "jail host name"
    params_form = ResizeParams

    def facts(self, target, params):
        from customers.models import JailRequest

        req = (
            JailRequest.objects.filter(host=target.host, name=params["name"], status="ready")
            .select_related("customer")
            .first()
        )
        return {
            "pool": jail_pool(target.host),
            "current_gb": req.size_gb if req else None,
            "tier_max_gb": limit_for(req.customer.sla_tier).max_jail_gb if req else None,
        }

    def preflight(self, target, params, facts, now):
        known = facts["current_gb"] is not None
        fits = known and params["size_gb"] <= facts["tier_max_gb"]
        return [
            freshness_check([target.host], now),
            self._lock_check(target, now),
            Check(
                "quota known",
                known,
                f"{params['name']} has {facts['current_gb']} GiB"
                if known
                else f"{params['name']} was not created by a request: its quota is not known here",
            ),
            Check(
                "tier limit",
                bool(fits),
                f"{params['size_gb']} GiB is within the tier's {facts['tier_max_gb']} GiB a jail"
                if fits
                else f"{params['size_gb']} GiB is more than the tier allows a jail",
            ),
        ]

    def plan(self, target, params, facts):
        host, name = target.host, params["name"]
        dataset = f"{facts['pool']}/jails/{name}"
        new = f"{params['size_gb']}G"
        if facts["current_gb"] is None:
            return []  # refused by preflight: no exact undo without the current quota
        old = f"{facts['current_gb']}G"
        return [
            StepSpec(
                key="quota",
                title=f"Set quota of {dataset} to {new}",
                host=host,
                cmd=commands.zfs_set_quota(dataset, new),
                why="the size the customer asked for",
                success=f"quota {new}",
                undo=f"zfs set quota={old} {dataset}",
                idempotent=True,
                rollback=StepSpec(
                    key="unquota",
                    title=f"Set quota of {dataset} back to {old}",
                    host=host,
                    cmd=commands.zfs_set_quota(dataset, old),
                    why="undo",
                    success=f"quota {old}",
                    undo="-",
                    idempotent=True,
                ),
            )
        ]
