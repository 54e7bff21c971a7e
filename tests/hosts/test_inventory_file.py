"""Inventory as a file: an idempotent upsert that refuses a bad file whole."""

import copy
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from audit.models import AuditRecord
from customers.models import Customer
from hosts.inventory.file import InventoryError, export_inventory, import_inventory
from hosts.models import BackupJob, Cluster, Host, SSHCredential
from tests.factories import make_private_key, make_public_key_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(tmp_path):
    (tmp_path / "client_key").write_text(make_private_key())
    return {
        "customers": [
            {
                "slug": "acme",
                "name": "Acme Magazines",
                "sla_tier": "gold",
                "contacts": [{"name": "Jane Doe", "email": "jane@acme.example"}],
                "ip_ranges": ["198.51.100.0/26"],
            }
        ],
        "sites": [{"slug": "nyc1", "name": "New York 1"}],
        "credentials": [
            {"name": "fleet-ops", "username": "nyiops", "private_key_file": "client_key"}
        ],
        "hosts": [
            {
                "name": name,
                "address": "127.0.0.1",
                "ssh_port": port,
                "credential": "fleet-ops",
                "roles": ["firewall"],
                "customer": "acme",
                "site": "nyc1",
                "host_key": make_public_key_line(),
                "poll_interval": 10,
            }
            for name, port in (("fw1a", 22001), ("fw1b", 22002))
        ]
        + [
            {
                "name": "nas1",
                "address": "127.0.0.1",
                "ssh_port": 22003,
                "credential": "fleet-ops",
                "roles": ["storage"],
                "host_key": make_public_key_line(),
            }
        ],
        "clusters": [
            {
                "name": "fw-pair-1",
                "kind": "firewall",
                "customer": "acme",
                "members": [
                    {"host": "fw1a", "role": "primary"},
                    {"host": "fw1b", "role": "backup"},
                ],
            }
        ],
        "backup_jobs": [
            {
                "name": "acme-fw1a",
                "source": "fw1a",
                "target": "nas1",
                "dataset": "tank/backups/fw1a",
                "schedule_minutes": 1440,
                "log_path": "/var/log/nyiops-backup/acme-fw1a.log",
            }
        ],
    }


def _import(data, tmp_path):
    return import_inventory(data, base_dir=tmp_path)


def _snapshot():
    return (
        list(Customer.objects.values()),
        list(Host.objects.values()),
        list(Cluster.objects.values()),
        list(SSHCredential.objects.values("name", "username")),
    )


def test_import_creates_every_section(inventory, tmp_path):
    summary = _import(inventory, tmp_path)

    assert summary.created == {
        "customers": 1,
        "sites": 1,
        "credentials": 1,
        "hosts": 3,
        "clusters": 1,
        "backup_jobs": 1,
    }
    fw1a = Host.objects.get(name="fw1a")
    assert fw1a.customer.slug == "acme" and fw1a.site.slug == "nyc1"
    assert fw1a.ssh_user == "nyiops"  # taken from the credential when not given
    assert fw1a.host_key_fingerprint.startswith("SHA256:")
    pair = Cluster.objects.get(name="fw-pair-1")
    assert {(m.host.name, m.role) for m in pair.members.all()} == {
        ("fw1a", "primary"),
        ("fw1b", "backup"),
    }
    assert BackupJob.objects.get().target.name == "nas1"
    assert AuditRecord.objects.filter(action="inventory.import").count() == 1


def test_import_twice_is_idempotent(inventory, tmp_path):
    _import(inventory, tmp_path)
    before = _snapshot()

    summary = _import(inventory, tmp_path)

    assert summary.created == {}
    assert summary.updated["hosts"] == 3
    assert _snapshot() == before


def test_import_updates_changed_fields_and_members(inventory, tmp_path):
    _import(inventory, tmp_path)
    inventory["hosts"][0]["ssh_port"] = 2222
    inventory["clusters"][0]["members"] = [{"host": "fw1b", "role": "primary"}]

    _import(inventory, tmp_path)

    assert Host.objects.get(name="fw1a").ssh_port == 2222
    assert [(m.host.name, m.role) for m in Cluster.objects.get().members.all()] == [
        ("fw1b", "primary")
    ]


def test_export_round_trips(inventory, tmp_path):
    _import(inventory, tmp_path)
    before = _snapshot()
    exported = export_inventory()

    _import(yaml.safe_load(yaml.safe_dump(exported)), tmp_path)

    assert _snapshot() == before
    assert export_inventory() == exported
    assert "private_key" not in yaml.safe_dump(exported)


def test_private_key_is_ciphertext_in_the_database(inventory, tmp_path):
    from django.db import connection

    _import(inventory, tmp_path)
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM hosts_sshcredential")
        (stored,) = cursor.fetchone()

    assert "PRIVATE KEY" not in stored
    assert "PRIVATE KEY" in SSHCredential.objects.get().private_key


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["hosts"][1].update(name="fw1a"),
            "hosts[1] (fw1a): name: 'fw1a' appears twice",
        ),
        (lambda d: d["hosts"][0].update(address="999.1.1.1"), "hosts[0] (fw1a).address:"),
        (lambda d: d["hosts"][0].update(address="a b"), "hosts[0] (fw1a).address:"),
        (lambda d: d["hosts"][0].update(ssh_port=70000), "hosts[0] (fw1a).ssh_port:"),
        (lambda d: d["hosts"][0].update(ssh_port=0), "hosts[0] (fw1a).ssh_port:"),
        (
            lambda d: d["hosts"][0].update(host_key="ssh-ed25519 AAAAnotakey"),
            "hosts[0] (fw1a).host_key: not a valid OpenSSH public key",
        ),
        (lambda d: d["hosts"][0].update(roles=["router"]), "hosts[0] (fw1a).roles: Unknown role"),
        (
            lambda d: d["hosts"][0].update(customer="nobody"),
            "hosts[0] (fw1a).customer: no customer",
        ),
        (lambda d: d["hosts"][0].update(colour="red"), "hosts[0] (fw1a): unknown field(s): colour"),
        (
            lambda d: d["clusters"][0]["members"].append({"host": "ghost", "role": "backup"}),
            "clusters[0] (fw-pair-1).members[2].host: no host named 'ghost'",
        ),
        (
            lambda d: d["customers"][0].update(ip_ranges=["10.0.0.1/8"]),
            "customers[0] (acme).ip_ranges:",
        ),
        (
            lambda d: d["credentials"][0].update(private_key_file="missing"),
            "credentials[0] (fleet-ops).private_key_file: cannot read",
        ),
        (
            lambda d: d["backup_jobs"][0].update(log_path="relative/path"),
            "backup_jobs[0] (acme-fw1a).log_path:",
        ),
        (lambda d: d.update(hosts="fw1a"), "hosts: must be a list of entries"),
    ],
)
def test_bad_file_is_refused_whole_and_names_entry_and_field(inventory, tmp_path, mutate, expected):
    bad = copy.deepcopy(inventory)
    mutate(bad)

    with pytest.raises(InventoryError) as excinfo:
        _import(bad, tmp_path)

    assert any(expected in error for error in excinfo.value.errors), excinfo.value.errors
    assert Host.objects.count() == 0
    assert Customer.objects.count() == 0
    assert AuditRecord.objects.count() == 0


def test_bad_update_leaves_existing_data_unchanged(inventory, tmp_path):
    _import(inventory, tmp_path)
    before = _snapshot()
    inventory["hosts"][0]["ssh_port"] = 2222
    inventory["hosts"][1]["ssh_port"] = "not a port"

    with pytest.raises(InventoryError):
        _import(inventory, tmp_path)

    assert _snapshot() == before


def test_command_reports_errors_and_imports_nothing(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "hosts:\n  - name: x\n    address: 127.0.0.1\n    ssh_port: -1\n    roles: []\n"
    )

    with pytest.raises(CommandError) as excinfo:
        call_command("import_inventory", str(path))

    message = str(excinfo.value)
    assert "refused, nothing imported" in message
    assert "hosts[0] (x).ssh_port" in message and "hosts[0] (x).roles" in message
    assert Host.objects.count() == 0


def test_command_refuses_invalid_yaml(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts: [unclosed\n")

    with pytest.raises(CommandError, match="not valid YAML"):
        call_command("import_inventory", str(path))


def test_commands_import_and_export_files(inventory, tmp_path, capsys):
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory))

    call_command("import_inventory", str(path))
    call_command("export_inventory")

    exported = yaml.safe_load(capsys.readouterr().out.split("\n", 1)[1])
    assert [h["name"] for h in exported["hosts"]] == ["fw1a", "fw1b", "nas1"]


def test_documented_example_imports(tmp_path):
    example = Path(__file__).resolve().parents[2] / "demo" / "inventory.example.yaml"

    call_command("import_inventory", str(example))

    assert Host.objects.count() >= 3
    assert Cluster.objects.filter(kind="firewall").exists()
