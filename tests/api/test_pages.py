"""The API's human pages: the reference page, the browsable API, the schema's access."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import AlertmanagerReceiver
from audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_docs_page_lists_the_operations_without_javascript(client, customer_a_user):
    client.force_login(customer_a_user)

    response = client.get(reverse("api:docs"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "/api/hosts/{id}/" in body and "/api/alerts/{id}/ack/" in body
    assert "<script>" not in body and "cdn" not in body.lower()


def test_browsable_api_renders_for_a_logged_in_user(client, noc_user, fleet):
    client.force_login(noc_user)

    response = client.get("/api/hosts/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert "fw-a1" in response.content.decode()


def test_session_writes_need_the_csrf_token(noc_user, fleet):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(noc_user)
    host = fleet["a"]["hosts"][0]

    response = client.patch(f"/api/hosts/{host.pk}/", {"poll_interval": 30}, format="json")

    assert response.status_code == 403
    host.refresh_from_db()
    assert host.poll_interval == 15


def test_schema_needs_an_api_user(db, noc_api):
    assert APIClient().get("/api/schema/").status_code == 401
    assert noc_api.get("/api/schema/", {"format": "json"}).json()["info"]["title"] == "nyiops API"


def test_receiver_changes_are_audited(noc_api, noc_user, customer_a):
    response = noc_api.post(
        "/api/integrations/alertmanager-receivers/",
        {"name": "prom", "customer": "customer-a"},
        format="json",
    )
    bad = noc_api.post(
        "/api/integrations/alertmanager-receivers/",
        {"name": "prom2", "customer": "nobody"},
        format="json",
    )

    assert response.status_code == 201
    assert AuditRecord.objects.get(action="api.alertmanager_receiver.create").actor == noc_user
    assert bad.status_code == 400 and set(bad.json()) == {"customer"}
    assert not AlertmanagerReceiver.objects.filter(name="prom2").exists()
