"""Inventory as a file: import (idempotent upsert) and export (round-trips).

An import is all or nothing. Every entry is validated first, against the database and the
rest of the file, and only a file without a single error is written, in one transaction.
Errors name the section, the entry and the field: `hosts[3] (fw1a).ssh_port: ...`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import record
from customers.models import Customer
from hosts.models import BackupJob, Cluster, ClusterMember, Host, Site, SSHCredential

SECTIONS = ("customers", "sites", "credentials", "hosts", "clusters", "backup_jobs")
_FIELDS = {
    "customers": {"slug", "name", "sla_tier", "contacts", "ip_ranges", "notes"},
    "sites": {"slug", "name"},
    "credentials": {"name", "username", "private_key", "private_key_file"},
    "hosts": {
        "name",
        "address",
        "ssh_port",
        "ssh_user",
        "credential",
        "roles",
        "customer",
        "site",
        "host_key",
        "enabled",
        "poll_interval",
    },
    "clusters": {"name", "kind", "customer", "description", "members"},
    "backup_jobs": {"name", "source", "target", "dataset", "schedule_minutes", "log_path"},
}
_KEY = {"customers": "slug", "sites": "slug"}


class InventoryError(Exception):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def __str__(self):
        parts = [
            f"{section}: {self.created.get(section, 0)} created, "
            f"{self.updated.get(section, 0)} updated"
            for section in SECTIONS
        ]
        return "; ".join(parts)


def load_inventory_file(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InventoryError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise InventoryError([f"{path}: not valid YAML: {exc}"]) from exc
    return data if data is not None else {}


class _Validator:
    """Builds unsaved model instances for every entry and collects every error."""

    def __init__(self, data, base_dir: Path):
        self.data = data
        self.base_dir = base_dir
        self.errors: list[str] = []
        self.instances: dict[str, list] = {s: [] for s in SECTIONS}
        self.members: list[tuple[Cluster, list[tuple[str, str]]]] = []
        self.names: dict[str, set[str]] = {s: set() for s in SECTIONS}

    def error(self, where: str, message: str):
        self.errors.append(f"{where}: {message}")

    def entries(self, section: str):
        items = self.data.get(section) or []
        if not isinstance(items, list):
            self.error(section, "must be a list of entries")
            return
        key = _KEY.get(section, "name")
        for i, entry in enumerate(items):
            where = f"{section}[{i}]"
            if not isinstance(entry, dict):
                self.error(where, "must be a mapping of field: value")
                continue
            name = entry.get(key)
            if not isinstance(name, str) or not name:
                self.error(where, f"{key}: required")
                continue
            where = f"{where} ({name})"
            unknown = set(entry) - _FIELDS[section]
            if unknown:
                self.error(where, f"unknown field(s): {', '.join(sorted(unknown))}")
                continue
            if name in self.names[section]:
                self.error(where, f"{key}: {name!r} appears twice in this file")
                continue
            self.names[section].add(name)
            yield where, name, entry

    def known(self, section: str, model, key: str, value) -> bool:
        return value in self.names[section] or model.objects.filter(**{key: value}).exists()

    def check(self, where: str, instance, exclude: list[str]):
        try:
            instance.full_clean(exclude=exclude, validate_unique=False)
        except ValidationError as exc:
            for fname, messages in exc.message_dict.items():
                label = "" if fname == "__all__" else f".{fname}"
                for message in messages:
                    self.errors.append(f"{where}{label}: {message}")

    def reference(self, where: str, entry: dict, fname: str, section: str, model, key: str):
        value = entry.get(fname)
        if value is None:
            return None
        if not self.known(section, model, key, value):
            self.error(f"{where}.{fname}", f"no {section[:-1]} named {value!r}")
        return value

    def run(self):
        if not isinstance(self.data, dict):
            raise InventoryError(
                ["the file must be a mapping with sections " + ", ".join(SECTIONS)]
            )
        unknown = set(self.data) - set(SECTIONS)
        if unknown:
            self.error("file", f"unknown section(s): {', '.join(sorted(unknown))}")
        self._customers()
        self._sites()
        self._credentials()
        self._hosts()
        self._clusters()
        self._backup_jobs()
        if self.errors:
            raise InventoryError(self.errors)

    def _customers(self):
        for where, slug, entry in self.entries("customers"):
            obj = Customer.objects.filter(slug=slug).first() or Customer(slug=slug)
            for fname in ("name", "sla_tier", "contacts", "ip_ranges", "notes"):
                if fname in entry:
                    setattr(obj, fname, entry[fname])
            self.check(where, obj, exclude=[])
            self.instances["customers"].append(obj)

    def _sites(self):
        for where, slug, entry in self.entries("sites"):
            obj = Site.objects.filter(slug=slug).first() or Site(slug=slug)
            obj.name = entry.get("name", obj.name)
            self.check(where, obj, exclude=[])
            self.instances["sites"].append(obj)

    def _credentials(self):
        for where, name, entry in self.entries("credentials"):
            obj = SSHCredential.objects.filter(name=name).first() or SSHCredential(name=name)
            obj.username = entry.get("username", obj.username)
            key_text = entry.get("private_key")
            if entry.get("private_key_file"):
                key_path = self.base_dir / str(entry["private_key_file"])
                try:
                    key_text = key_path.read_text()
                except OSError as exc:
                    self.error(
                        f"{where}.private_key_file", f"cannot read {key_path}: {exc.strerror}"
                    )
                    continue
            if key_text:
                obj.private_key = key_text
            elif obj.pk is None:
                # Export leaves keys out on purpose; a new credential still needs one.
                self.error(f"{where}.private_key", "required for a new credential")
                continue
            self.check(where, obj, exclude=[])
            self.instances["credentials"].append(obj)

    def _hosts(self):
        for where, name, entry in self.entries("hosts"):
            obj = Host.objects.filter(name=name).first() or Host(name=name)
            for fname in ("address", "ssh_port", "roles", "enabled", "poll_interval"):
                if fname in entry:
                    setattr(obj, fname, entry[fname])
            credential = self.reference(
                where, entry, "credential", "credentials", SSHCredential, "name"
            )
            obj._inventory_refs = {
                "customer": self.reference(where, entry, "customer", "customers", Customer, "slug"),
                "site": self.reference(where, entry, "site", "sites", Site, "slug"),
                "credential": credential,
            }
            if "ssh_user" in entry:
                obj.ssh_user = entry["ssh_user"]
            elif not obj.ssh_user and credential:
                obj.ssh_user = self._credential_username(credential)
            if "host_key" in entry:
                try:
                    obj.host_key_line = entry["host_key"] or ""
                except ValueError as exc:
                    self.error(f"{where}.host_key", f"not a valid OpenSSH public key: {exc}")
                    continue
            self.check(where, obj, exclude=["customer", "site", "credential"])
            self.instances["hosts"].append(obj)

    def _credential_username(self, name: str) -> str:
        for cred in self.instances["credentials"]:
            if cred.name == name:
                return cred.username
        cred = SSHCredential.objects.filter(name=name).first()
        return cred.username if cred else ""

    def _clusters(self):
        for where, name, entry in self.entries("clusters"):
            obj = Cluster.objects.filter(name=name).first() or Cluster(name=name)
            obj.kind = entry.get("kind", obj.kind)
            obj.description = entry.get("description", obj.description)
            obj._inventory_refs = {
                "customer": self.reference(where, entry, "customer", "customers", Customer, "slug")
            }
            self.check(where, obj, exclude=["customer"])
            members = []
            raw_members = entry.get("members") or []
            if not isinstance(raw_members, list) or not raw_members:
                self.error(f"{where}.members", "give at least one member")
                raw_members = []
            seen = set()
            for j, member in enumerate(raw_members):
                mwhere = f"{where}.members[{j}]"
                if not isinstance(member, dict) or "host" not in member:
                    self.error(mwhere, "must be {host: NAME, role: primary|backup}")
                    continue
                if member.get("role") not in ("primary", "backup"):
                    self.error(f"{mwhere}.role", "must be primary or backup")
                    continue
                if not self.known("hosts", Host, "name", member["host"]):
                    self.error(f"{mwhere}.host", f"no host named {member['host']!r}")
                    continue
                if member["host"] in seen:
                    self.error(f"{mwhere}.host", f"{member['host']!r} is listed twice")
                    continue
                seen.add(member["host"])
                members.append((member["host"], member["role"]))
            self.instances["clusters"].append(obj)
            self.members.append((obj, members))

    def _backup_jobs(self):
        for where, name, entry in self.entries("backup_jobs"):
            obj = BackupJob.objects.filter(name=name).first() or BackupJob(name=name)
            for fname in ("dataset", "schedule_minutes", "log_path"):
                if fname in entry:
                    setattr(obj, fname, entry[fname])
            obj._inventory_refs = {
                "source": self.reference(where, entry, "source", "hosts", Host, "name"),
                "target": self.reference(where, entry, "target", "hosts", Host, "name"),
            }
            for fname in ("source", "target"):
                if obj._inventory_refs[fname] is None and getattr(obj, f"{fname}_id") is None:
                    self.error(f"{where}.{fname}", "required")
            self.check(where, obj, exclude=["source", "target"])
            self.instances["backup_jobs"].append(obj)


_REF_MODELS = {
    "customer": (Customer, "slug"),
    "site": (Site, "slug"),
    "credential": (SSHCredential, "name"),
    "source": (Host, "name"),
    "target": (Host, "name"),
}


def import_inventory(data, *, base_dir: Path, actor=None) -> ImportSummary:
    """Validate the whole file, then upsert it in one transaction. Raises InventoryError
    with every problem found; the database is then unchanged."""
    validator = _Validator(data, base_dir)
    validator.run()
    summary = ImportSummary()
    with transaction.atomic():
        for section in SECTIONS:
            for obj in validator.instances[section]:
                for fname, value in getattr(obj, "_inventory_refs", {}).items():
                    if value is not None:
                        model, key = _REF_MODELS[fname]
                        setattr(obj, fname, model.objects.get(**{key: value}))
                bucket = summary.updated if obj.pk else summary.created
                bucket[section] = bucket.get(section, 0) + 1
                obj.save()
        for cluster, members in validator.members:
            wanted = {host: role for host, role in members}
            cluster.members.exclude(host__name__in=wanted).delete()
            for host_name, role in wanted.items():
                ClusterMember.objects.update_or_create(
                    cluster=cluster, host=Host.objects.get(name=host_name), defaults={"role": role}
                )
        record(actor=actor, action="inventory.import", message=str(summary))
    return summary


def export_inventory() -> dict:
    """The inventory in import_inventory's format. Private keys are left out on purpose:
    importing the export back into the same database keeps the stored keys."""

    def drop_empty(d: dict) -> dict:
        return {k: v for k, v in d.items() if v not in (None, "", [])}

    hosts = Host.objects.select_related("customer", "site", "credential").order_by("name")
    clusters = Cluster.objects.select_related("customer").prefetch_related("members__host")
    return {
        "customers": [
            drop_empty(
                {
                    "slug": c.slug,
                    "name": c.name,
                    "sla_tier": c.sla_tier,
                    "contacts": c.contacts,
                    "ip_ranges": c.ip_ranges,
                    "notes": c.notes,
                }
            )
            for c in Customer.objects.order_by("slug")
        ],
        "sites": [{"slug": s.slug, "name": s.name} for s in Site.objects.order_by("slug")],
        "credentials": [
            {"name": c.name, "username": c.username} for c in SSHCredential.objects.order_by("name")
        ],
        "hosts": [
            drop_empty(
                {
                    "name": h.name,
                    "address": h.address,
                    "ssh_port": h.ssh_port,
                    "ssh_user": h.ssh_user,
                    "credential": h.credential.name if h.credential else None,
                    "roles": h.roles,
                    "customer": h.customer.slug if h.customer else None,
                    "site": h.site.slug if h.site else None,
                    "host_key": h.host_key_line,
                    "poll_interval": h.poll_interval,
                }
            )
            | ({} if h.enabled else {"enabled": False})
            for h in hosts
        ],
        "clusters": [
            drop_empty(
                {
                    "name": c.name,
                    "kind": c.kind,
                    "customer": c.customer.slug if c.customer else None,
                    "description": c.description,
                    "members": [
                        {"host": m.host.name, "role": m.role}
                        for m in sorted(
                            c.members.all(), key=lambda m: (m.role != "primary", m.host.name)
                        )
                    ],
                }
            )
            for c in clusters
        ],
        "backup_jobs": [
            {
                "name": j.name,
                "source": j.source.name,
                "target": j.target.name,
                "dataset": j.dataset,
                "schedule_minutes": j.schedule_minutes,
                "log_path": j.log_path,
            }
            for j in BackupJob.objects.select_related("source", "target").order_by("name")
        ],
    }
