"""Inventory writes: the inventory import's validation and messages, all or nothing,
audited as the token's user; bad input is a 4xx naming the field."""

import pytest

from audit.models import AuditRecord
from hosts.models import BackupJob, Cluster, Host
from tests.factories import SSHCredentialFactory, make_public_key_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def credential(db):
    return SSHCredentialFactory(name="ops")


def new_host(**overrides):
    return {
        "name": "web9",
        "address": "192.0.2.9",
        "ssh_port": 22,
        "credential": "ops",
        "roles": ["web"],
        "customer": "customer-a",
        "site": "nyc1",
        **overrides,
    }


def test_noc_creates_a_host_like_the_inventory_file_does(noc_api, noc_user, fleet, credential):
    key = make_public_key_line()

    response = noc_api.post("/api/hosts/", new_host(host_key=key), format="json")

    assert response.status_code == 201, response.json()
    host = Host.objects.get(name="web9")
    assert (host.customer.slug, host.site.slug, host.ssh_user) == ("customer-a", "nyc1", "nyiops")
    assert host.host_key_line == key
    assert response.json()["id"] == host.pk
    audit = AuditRecord.objects.filter(action="api.inventory.create").get()
    assert audit.actor == noc_user and "API token" in audit.message
    assert AuditRecord.objects.filter(action="inventory.import", actor=noc_user).exists()


def test_import_errors_come_back_naming_their_fields(noc_api, fleet, credential):
    body = new_host(ssh_port=70000, customer="nobody", address="not an address!")

    response = noc_api.post("/api/hosts/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"ssh_port", "customer", "address"}
    assert errors["customer"] == ["no customer named 'nobody'"]
    assert not Host.objects.filter(name="web9").exists()


def test_wrong_types_are_refused_by_field(noc_api, fleet, credential):
    response = noc_api.post(
        "/api/hosts/", new_host(ssh_port="twenty-two", roles="web"), format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"ssh_port", "roles"}


def test_unknown_fields_are_refused_not_ignored(noc_api, fleet, credential):
    response = noc_api.post("/api/hosts/", new_host(password="x", reachability="ok"), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"password", "reachability"}
    assert not Host.objects.filter(name="web9").exists()


def test_malformed_json_is_a_400_and_writes_nothing(noc_api, fleet):
    response = noc_api.generic(
        "POST", "/api/hosts/", '{"name": "web9", ', content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_oversized_body_is_a_413(noc_api, fleet, settings):
    settings.NYIOPS_API_MAX_BODY_BYTES = 1000

    response = noc_api.post("/api/hosts/", new_host(notes="x" * 2000), format="json")

    assert response.status_code == 413
    assert not Host.objects.filter(name="web9").exists()


def test_patch_changes_only_what_it_names(noc_api, fleet):
    host = fleet["a"]["hosts"][0]

    response = noc_api.patch(f"/api/hosts/{host.pk}/", {"poll_interval": 30}, format="json")

    assert response.status_code == 200, response.json()
    host.refresh_from_db()
    assert host.poll_interval == 30
    assert host.customer.slug == "customer-a" and host.roles == ["firewall", "storage"]


def test_renaming_through_the_api_is_refused(noc_api, fleet):
    host = fleet["a"]["hosts"][0]

    response = noc_api.patch(f"/api/hosts/{host.pk}/", {"name": "renamed"}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()
    assert not Host.objects.filter(name="renamed").exists()


def test_clearing_a_reference_is_refused_with_the_field(noc_api, fleet):
    host = fleet["a"]["hosts"][0]

    response = noc_api.patch(f"/api/hosts/{host.pk}/", {"customer": None}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"customer"}


def test_cluster_members_are_written_and_validated(noc_api, fleet):
    cluster = fleet["a"]["cluster"]

    bad = noc_api.patch(
        f"/api/clusters/{cluster.pk}/",
        {"members": [{"host": "fw-a1", "role": "primary"}, {"host": "ghost", "role": "backup"}]},
        format="json",
    )
    good = noc_api.patch(
        f"/api/clusters/{cluster.pk}/",
        {"members": [{"host": "fw-a1", "role": "backup"}, {"host": "fw-a2", "role": "primary"}]},
        format="json",
    )

    assert bad.status_code == 400
    assert bad.json() == {"members": ["[1].host: no host named 'ghost'"]}
    assert good.status_code == 200, good.json()
    roles = dict(Cluster.objects.get(pk=cluster.pk).members.values_list("host__name", "role"))
    assert roles == {"fw-a1": "backup", "fw-a2": "primary"}


def test_backup_job_create_checks_dataset_and_hosts(noc_api, fleet):
    body = {
        "name": "nightly",
        "source": "fw-a2",
        "target": "fw-a1",
        "dataset": "tank/backups/nightly",
        "log_path": "/var/log/nightly.log",
    }

    bad = noc_api.post("/api/backup-jobs/", {**body, "dataset": "bad dataset;"}, format="json")
    good = noc_api.post("/api/backup-jobs/", body, format="json")

    assert bad.status_code == 400 and set(bad.json()) == {"dataset"}
    assert good.status_code == 201, good.json()
    assert BackupJob.objects.get(name="nightly").source.name == "fw-a2"


def test_customer_and_site_create(noc_api, db):
    assert (
        noc_api.post("/api/sites/", {"slug": "lon1", "name": "London"}, format="json").status_code
        == 201
    )
    created = noc_api.post(
        "/api/customers/",
        {"slug": "acme", "name": "Acme", "ip_ranges": ["198.51.100.0/24"]},
        format="json",
    )
    bad = noc_api.post(
        "/api/customers/", {"slug": "acme2", "name": "Acme", "ip_ranges": ["nope"]}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert bad.status_code == 400 and set(bad.json()) == {"ip_ranges"}


def test_oncall_cannot_write_inventory(oncall_api, fleet):
    host = fleet["a"]["hosts"][0]

    response = oncall_api.patch(f"/api/hosts/{host.pk}/", {"poll_interval": 30}, format="json")

    assert response.status_code == 403


def test_values_are_written_as_their_checked_types(noc_api, fleet):
    host = fleet["a"]["hosts"][1]

    response = noc_api.patch(
        f"/api/hosts/{host.pk}/", {"ssh_port": "2222", "enabled": "false"}, format="json"
    )

    assert response.status_code == 200, response.json()
    host.refresh_from_db()
    assert (host.ssh_port, host.enabled) == (2222, False)
    assert response.json()["ssh_port"] == 2222
