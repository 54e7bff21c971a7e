"""Alerts through the API: list and filter, acknowledge and resolve with a note through
the alert services (timeline, audit, escalation stop)."""

import pytest

from alerts.choices import AlertState, EventKind
from audit.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_oncall_acknowledges_with_a_note_via_the_api(fleet, oncall_api, oncall_user):
    alert = fleet["a"]["alert"]

    response = oncall_api.post(
        f"/api/alerts/{alert.pk}/ack/", {"note": "on it", "eta_minutes": 20}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["acknowledged_by"], body["ack_note"]) == (
        "acknowledged",
        "oscar-oncall",
        "on it",
    )
    event = alert.events.get(kind=EventKind.ACKNOWLEDGED)
    assert event.data["via"] == "api" and event.actor == oncall_user
    assert AuditRecord.objects.filter(action="alerts.acknowledge", actor=oncall_user).exists()


def test_resolve_with_a_note_then_a_second_resolve_is_a_409(fleet, noc_api):
    alert = fleet["a"]["alert"]

    first = noc_api.post(f"/api/alerts/{alert.pk}/resolve/", {"note": "fixed"}, format="json")
    second = noc_api.post(f"/api/alerts/{alert.pk}/resolve/", {"note": "again"}, format="json")

    assert first.status_code == 200 and first.json()["resolve_note"] == "fixed"
    assert second.status_code == 409
    assert "already resolved" in second.json()["state"][0]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolve_note == "fixed"


def test_ack_body_is_checked_by_field(fleet, noc_api):
    alert = fleet["a"]["alert"]

    response = noc_api.post(
        f"/api/alerts/{alert.pk}/ack/", {"eta_minutes": "soon", "mood": "x"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"mood"} or set(response.json()) == {"eta_minutes", "mood"}
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING


def test_alert_filters(fleet, noc_api):
    noc_api.post(f"/api/alerts/{fleet['b']['alert'].pk}/resolve/", {}, format="json")

    open_ids = [a["id"] for a in noc_api.get("/api/alerts/", {"open": "true"}).json()["results"]]
    by_customer = noc_api.get("/api/alerts/", {"customer": "customer-b"}).json()["results"]

    assert open_ids == [fleet["a"]["alert"].pk]
    assert [a["state"] for a in by_customer] == ["resolved"]
