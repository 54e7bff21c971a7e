"""Disks and backups: replace a failed disk (gmirror or ZFS), clone a server from a gmirror
(the white paper's procedure), and back up now.

Why these shapes:
- gmirror keeps a missing component in its metadata until `gmirror forget`; a new provider
  is then `gmirror insert`ed and rebuilt. The rebuild's percentage (gmirror status) and
  ZFS's resilver scan line (% done, ETA) feed the progress bar; done means COMPLETE/ONLINE.
- The clone removes a healthy component (never the last ACTIVE one: gmirror refuses, and so
  does our preflight), fsck's the copy it leaves on the disk, and waits for a person to move
  the drive; the source is made whole by inserting the replacement disk.
- Back up now runs the same wrapper the scheduled runs use, so the log and the snapshot the
  poller reads (and the restore-point view) show it like any other run.

Must not: build a command except through hosts.freebsd.commands; run anything itself.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from hosts.freebsd import commands
from hosts.models import BackupJob, BackupRun, Host, Mirror, ZPool, ZPoolDevice
from operations import locks
from operations.actions import register
from operations.actions.base import Action, Check, StepSpec, Target, Verdict, freshness_check


def _lock_check(target: Target, now) -> Check:
    holder = locks.holder_of([f"host:{h.pk}" for h in target.hosts], now)
    if holder is None:
        return Check("no other operation", True, "no operation holds the host")
    op = holder.operation
    return Check(
        "no other operation",
        False,
        f"host busy: {op.label} ({op.kind}) by {op.requested_by_name} since "
        f"{holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC",
    )


def _host(text: str) -> Host:
    host = Host.objects.filter(name=text).first()
    if host is None:
        raise ValidationError({"target": f"no host named {text!r}"})
    return host


def _valid_provider(value: str) -> None:
    if not commands.valid_vdev(value):
        raise ValidationError("letters, digits, '/', '.', '-' only")


def _provider_field(label: str, required=True):
    return forms.CharField(
        max_length=64, required=required, help_text=label, validators=[_valid_provider]
    )


class DiskParams(forms.Form):
    mirror = forms.CharField(max_length=64, required=False, help_text="gmirror name (or pool)")
    pool = forms.CharField(max_length=64, required=False, help_text="ZFS pool name (or mirror)")
    old = _provider_field("the failed component / device, e.g. ada1p2", required=False)
    new = _provider_field("the new provider, e.g. ada1p2 or da0p3")

    def clean(self):
        data = super().clean()
        if bool(data.get("mirror")) == bool(data.get("pool")):
            raise ValidationError("give either mirror or pool")
        if data.get("mirror") and not commands.valid_geom(data["mirror"]):
            self.add_error("mirror", "not a gmirror name")
        if data.get("pool") and not commands.valid_pool(data["pool"]):
            self.add_error("pool", "not a pool name")
        if data.get("pool") and not data.get("old"):
            self.add_error("old", "zpool replace needs the device being replaced")
        return data


def mirror_of(host: Host, name: str) -> Mirror | None:
    return Mirror.objects.present().filter(host=host, name=name).first()


def pool_of(host: Host, name: str) -> ZPool | None:
    return ZPool.objects.present().filter(host=host, name=name).first()


@register
class DiskReplace(Action):
    kind = "disk-replace"
    title = "Replace a failed disk in a gmirror or a ZFS pool"
    target_help = "host name (params mirror=NAME or pool=NAME, old=, new=)"
    button = "Replace disk"
    params_form = DiskParams

    def resolve(self, target: str, params: dict) -> Target:
        host = _host(target)
        if params.get("mirror") and mirror_of(host, params["mirror"]) is None:
            raise ValidationError({"mirror": f"no mirror {params['mirror']} on {host.name}"})
        if params.get("pool") and pool_of(host, params["pool"]) is None:
            raise ValidationError({"pool": f"no pool {params['pool']} on {host.name}"})
        what = f"mirror/{params['mirror']}" if params.get("mirror") else f"pool {params['pool']}"
        return Target(label=f"{host.name} {what}", host=host, hosts=[host])

    def facts(self, target: Target, params: dict) -> dict:
        host = target.host
        if params.get("mirror"):
            m = mirror_of(host, params["mirror"])
            comps = {c.name: c.state for c in m.components.all()}
            return {"reachability": host.reachability, "state": m.state, "components": comps}
        p = pool_of(host, params["pool"])
        devices = dict(ZPoolDevice.objects.filter(pool=p).values_list("name", "state"))
        return {"reachability": host.reachability, "health": p.health, "devices": devices}

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        checks = [freshness_check(target.hosts, now), _lock_check(target, now)]
        new = params["new"]
        if params.get("mirror"):
            comps = facts["components"]
            active = [n for n, s in comps.items() if s == "ACTIVE"]
            checks.append(
                Check(
                    "mirror has an active copy",
                    bool(active),
                    f"ACTIVE: {', '.join(active) or 'none'} (state {facts['state']})",
                )
            )
            checks.append(
                Check(
                    f"{new} not in the mirror", new not in comps, f"components: {', '.join(comps)}"
                )
            )
        else:
            devices = facts["devices"]
            old = params["old"]
            checks.append(
                Check(
                    f"{old} in the pool", old in devices, f"{old} is {devices.get(old, 'absent')}"
                )
            )
            checks.append(
                Check(
                    f"{old} not the only good copy",
                    devices.get(old) != "ONLINE" or facts["health"] == "ONLINE",
                    f"pool {facts['health']}",
                    hard=False,
                )
            )
        return checks

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        host, new = target.host, params["new"]
        if params.get("mirror"):
            mirror = params["mirror"]
            return [
                StepSpec(
                    key="forget",
                    title=f"Forget disconnected components of {mirror}",
                    host=host,
                    cmd=commands.gmirror_forget(mirror),
                    why="gmirror keeps a dead disk in its metadata until told to forget it",
                    success="exit 0",
                    undo="-",
                    idempotent=True,
                ),
                StepSpec(
                    key="insert",
                    title=f"Insert {new} into {mirror}",
                    host=host,
                    cmd=commands.gmirror_insert(mirror, new),
                    why="the new disk joins and is rebuilt from the active copy",
                    success=f"{mirror} COMPLETE with {new} ACTIVE",
                    undo=f"gmirror remove {mirror} {new}",
                    idempotent=False,
                    verify="mirror_complete",
                    window=settings.NYIOPS_REBUILD_WAIT_SECONDS,
                    data={"mirror": mirror, "new": new},
                ),
            ]
        pool, old = params["pool"], params["old"]
        return [
            StepSpec(
                key="replace",
                title=f"Replace {old} by {new} in {pool}",
                host=host,
                cmd=commands.zpool_replace(pool, old, new),
                why="ZFS resilvers the new device from the pool's redundancy",
                success=f"{pool} ONLINE, {new} ONLINE, resilver finished",
                undo="zpool detach (by hand, see docs)",
                idempotent=False,
                verify="pool_online",
                window=settings.NYIOPS_REBUILD_WAIT_SECONDS,
                data={"pool": pool, "new": new},
            )
        ]

    def verify_mirror_complete(self, op, step) -> Verdict:
        data = step.spec["data"]
        m = mirror_of(Host.objects.get(pk=op.host_id), data["mirror"])
        if m is None:
            return Verdict.fail(f"mirror {data['mirror']} is gone")
        comp = m.components.filter(name=data["new"]).first()
        if comp is None:
            return Verdict.wait(f"{data['new']} not yet in {m.name}")
        if m.state == "COMPLETE" and comp.state == "ACTIVE":
            return Verdict.ok(f"{m.name} COMPLETE, {comp.name} ACTIVE")
        pct = comp.synchronized_pct
        return Verdict.wait(f"{m.name} {m.state}: {comp.name} {comp.state} {pct or 0}%", pct)

    def verify_pool_online(self, op, step) -> Verdict:
        data = step.spec["data"]
        p = pool_of(Host.objects.get(pk=op.host_id), data["pool"])
        if p is None:
            return Verdict.fail(f"pool {data['pool']} is gone")
        resilvering = p.scan_kind == "resilver" and p.scan_state == "in_progress"
        if p.health == "ONLINE" and not resilvering:
            return Verdict.ok(f"{p.name} ONLINE, resilver done")
        eta = f", ETA {p.scan_eta}" if p.scan_eta else ""
        return Verdict.wait(
            f"{p.name} {p.health}: resilver {p.scan_pct or 0:.1f}% done{eta}", p.scan_pct
        )

    def done_insert(self, op, step) -> bool | None:
        m = mirror_of(Host.objects.get(pk=op.host_id), step.spec["data"]["mirror"])
        return m is not None and m.components.filter(name=step.spec["data"]["new"]).exists()

    def done_replace(self, op, step) -> bool | None:
        p = pool_of(Host.objects.get(pk=op.host_id), step.spec["data"]["pool"])
        return (
            p is not None
            and ZPoolDevice.objects.filter(pool=p, name=step.spec["data"]["new"]).exists()
        )

    def predicted_findings(self, target: Target, params: dict, facts: dict) -> list[str]:
        host = target.host.name
        if params.get("mirror"):
            return [f"mirror_degraded:host:{host}:{params['mirror']}"]
        return [f"pool_degraded:host:{host}:{params['pool']}"]


class CloneParams(forms.Form):
    mirror = forms.CharField(max_length=64, help_text="the source gmirror")
    disk = _provider_field("the component to take out, e.g. ada1p2")
    replacement = _provider_field("the provider that makes the mirror whole again", required=False)
    mountpoint = forms.CharField(
        max_length=100, required=False, help_text="mount the copy here to adjust it (optional)"
    )

    def clean_mountpoint(self):
        value = self.cleaned_data.get("mountpoint") or ""
        if value and not commands.valid_path(value):
            raise ValidationError("an absolute path")
        return value


@register
class MirrorClone(Action):
    kind = "mirror-clone"
    title = "Clone a server from a gmirror (take a drive out for a new server)"
    target_help = "host name (params mirror=, disk=, replacement=, mountpoint=)"
    button = "Clone server from this mirror"
    params_form = CloneParams

    def resolve(self, target: str, params: dict) -> Target:
        host = _host(target)
        if mirror_of(host, params["mirror"]) is None:
            raise ValidationError({"mirror": f"no mirror {params['mirror']} on {host.name}"})
        return Target(label=f"{host.name} mirror/{params['mirror']}", host=host, hosts=[host])

    def facts(self, target: Target, params: dict) -> dict:
        m = mirror_of(target.host, params["mirror"])
        return {
            "reachability": target.host.reachability,
            "state": m.state,
            "components": {c.name: c.state for c in m.components.all()},
        }

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        comps, disk = facts["components"], params["disk"]
        others = [n for n, s in comps.items() if s == "ACTIVE" and n != disk]
        return [
            freshness_check(target.hosts, now),
            _lock_check(target, now),
            Check("mirror COMPLETE", facts["state"] == "COMPLETE", f"mirror is {facts['state']}"),
            Check(
                f"{disk} in the mirror", comps.get(disk) == "ACTIVE", f"{disk}: {comps.get(disk)}"
            ),
            Check(
                "another active copy stays",
                bool(others),
                f"still ACTIVE after: {', '.join(others) or 'none (never pull the last copy)'}",
            ),
        ]

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        host, mirror, disk = target.host, params["mirror"], params["disk"]
        steps = [
            StepSpec(
                key="remove",
                title=f"Take {disk} out of {mirror}",
                host=host,
                cmd=commands.gmirror_remove(mirror, disk),
                why="the removed disk keeps a full copy of the mirror's file system",
                success=f"{mirror} runs on its other copy",
                undo=f"gmirror insert {mirror} {disk}",
                idempotent=False,
                rollback=StepSpec(
                    key="reinsert",
                    title=f"Put {disk} back into {mirror}",
                    host=host,
                    cmd=commands.gmirror_insert(mirror, disk),
                    why="roll back",
                    success="rebuilding",
                    undo="-",
                    idempotent=True,
                ),
                data={"mirror": mirror, "disk": disk},
            ),
            StepSpec(
                key="fsck",
                title=f"Check the file system on {disk}",
                host=host,
                cmd=commands.fsck_ufs(disk),
                why="the copy was not cleanly unmounted",
                success="fsck exit 0",
                undo="-",
                idempotent=True,
            ),
        ]
        if params.get("mountpoint"):
            mp = params["mountpoint"]
            steps += [
                StepSpec(
                    key="mount",
                    title=f"Mount the copy on {mp}",
                    host=host,
                    cmd=commands.mount(disk, mp),
                    why="adjust hostname, addresses, keys",
                    success="mounted",
                    undo=f"umount {mp}",
                    idempotent=False,
                ),
                StepSpec(
                    key="adjust",
                    title="A person adjusts the copy",
                    host=None,
                    cmd=None,
                    why="hostname, rc.conf addresses and SSH host keys must differ",
                    success="confirmed",
                    undo="-",
                    idempotent=True,
                    ask="confirm",
                    data={"prompt": f"adjust the copy under {mp}, then confirm"},
                ),
                StepSpec(
                    key="umount",
                    title=f"Unmount {mp}",
                    host=host,
                    cmd=commands.umount(mp),
                    why="the drive leaves the server",
                    success="unmounted",
                    undo="-",
                    idempotent=False,
                ),
            ]
        steps.append(
            StepSpec(
                key="move",
                title="A person moves the drive into the new server",
                host=None,
                cmd=None,
                why="a physical step",
                success="confirmed",
                undo="-",
                idempotent=True,
                ask="confirm",
                data={
                    "prompt": f"put {disk} into the new server (and a replacement disk into "
                    f"{host.name}), then confirm"
                },
            )
        )
        if params.get("replacement"):
            new = params["replacement"]
            steps.append(
                StepSpec(
                    key="insert",
                    title=f"Insert {new} into {mirror}",
                    host=host,
                    cmd=commands.gmirror_insert(mirror, new),
                    why="the source mirror is made whole again",
                    success=f"{mirror} COMPLETE",
                    undo="-",
                    idempotent=False,
                    verify="mirror_complete",
                    window=settings.NYIOPS_REBUILD_WAIT_SECONDS,
                    data={"mirror": mirror, "new": new},
                )
            )
        return steps

    verify_mirror_complete = DiskReplace.verify_mirror_complete
    done_insert = DiskReplace.done_insert

    def done_remove(self, op, step) -> bool | None:
        m = mirror_of(Host.objects.get(pk=op.host_id), step.spec["data"]["mirror"])
        return m is not None and not m.components.filter(name=step.spec["data"]["disk"]).exists()

    def done_mount(self, op, step) -> bool | None:
        return None  # not polled: a person looks

    def predicted_findings(self, target: Target, params: dict, facts: dict) -> list[str]:
        return [f"mirror_degraded:host:{target.host.name}:{params['mirror']}"]


@register
class BackupNow(Action):
    kind = "backup-now"
    title = "Run a backup job now"
    target_help = "backup job name"
    button = "Back up now"

    def resolve(self, target: str, params: dict) -> Target:
        job = BackupJob.objects.select_related("target").filter(name=target).first()
        if job is None:
            raise ValidationError({"target": f"no backup job named {target!r}"})
        return Target(
            label=f"backup {job.name}", host=job.target, hosts=[job.target], extra={"job": job.name}
        )

    def facts(self, target: Target, params: dict) -> dict:
        job = BackupJob.objects.get(name=target.extra["job"])
        last = job.runs.order_by("-started_at").first()
        return {
            "reachability": target.host.reachability,
            "running": bool(last and last.finished_at is None),
        }

    def preflight(self, target: Target, params: dict, facts: dict, now: datetime) -> list[Check]:
        return [
            freshness_check(target.hosts, now),
            _lock_check(target, now),
            Check(
                "not running now",
                not facts["running"],
                "a run is in progress" if facts["running"] else "no run in progress",
            ),
        ]

    def plan(self, target: Target, params: dict, facts: dict) -> list[StepSpec]:
        job = target.extra["job"]
        return [
            StepSpec(
                key="run",
                title=f"Start {job}",
                host=target.host,
                cmd=commands.run_script(settings.NYIOPS_BACKUP_WRAPPER, job),
                why="the scheduled runs' wrapper: rsync, then a snapshot of the target dataset",
                success="a new run in the log, exit 0, its snapshot present",
                undo="-",
                idempotent=False,
                verify="finished",
                window=settings.NYIOPS_BACKUP_WAIT_SECONDS,
                data={"job": job},
            )
        ]

    def verify_finished(self, op, step) -> Verdict:
        job = BackupJob.objects.get(name=step.spec["data"]["job"])
        since = step.started_at or op.started_at or timezone.now()
        run = (
            BackupRun.objects.filter(job=job, started_at__gte=since.replace(microsecond=0))
            .order_by("-started_at")
            .first()
        )
        if run is None:
            return Verdict.wait(f"{job.name}: waiting for the run to show in the log")
        if run.finished_at is None:
            last = job.runs.filter(finished_at__isnull=False).order_by("-started_at").first()
            expected = last.duration_s if last and last.duration_s else None
            elapsed = (timezone.now() - run.started_at).total_seconds()
            pct = min(99.0, 100 * elapsed / expected) if expected else None
            return Verdict.wait(f"{job.name} running for {elapsed:.0f} s", pct)
        if run.exit_code not in (0, 24):
            return Verdict.fail(f"{job.name} ended with rsync exit {run.exit_code}")
        if run.snapshot_verified is False:
            return Verdict.fail(f"{job.name}: snapshot {run.snapshot} missing")
        return Verdict.ok(f"{job.name} done (exit {run.exit_code}), snapshot {run.snapshot}")

    def done_run(self, op, step) -> bool | None:
        job = BackupJob.objects.get(name=step.spec["data"]["job"])
        since = step.started_at or op.started_at
        return job.runs.filter(started_at__gte=since.replace(microsecond=0)).exists()
