"""/metrics after real polls of the simulated fleet: a failover (every vhid's MASTER moves
from fw1a to fw1b) is in the next scrape, and the poll pipeline histograms count the polls."""

import pytest
from django.urls import reverse

from api.metrics import StateCollector
from tests.api.metrics_lint import families, naming_problems
from tests.integration.conftest import poll

pytestmark = [pytest.mark.sim, pytest.mark.django_db]


def masters(text: str, cluster: str) -> dict[str, set[str]]:
    """vhid -> hosts that are MASTER for it, from the scrape."""
    out: dict[str, set[str]] = {}
    for s in families(text)["nyiops_carp_vhid_master"].samples:
        if s.labels["cluster"] == cluster and s.value == 1:
            out.setdefault(s.labels["vhid"], set()).add(s.labels["host"])
    return out


def poll_count(text: str) -> float:
    fam = families(text)["nyiops_poll_duration_seconds"]
    return next(s.value for s in fam.samples if s.name == "nyiops_poll_duration_seconds_count")


def test_failover_is_reflected_in_the_scrape_after_the_poll(fleet, client, settings, monkeypatch):
    settings.NYIOPS_METRICS_TOKEN = "scrape"
    monkeypatch.setattr(StateCollector, "_queues", lambda self: iter(()))

    def scrape() -> str:
        response = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer scrape")
        assert response.status_code == 200
        return response.content.decode()

    poll("fw1a", "fw1b")
    before = scrape()
    assert masters(before, "fw-pair-1") == {"1": {"fw1a"}, "2": {"fw1a"}, "3": {"fw1a"}}

    fleet.inject("fw1a", "down")
    assert fleet.wait_for(
        lambda f: (
            {e["vhid"] for e in f.state("fw1b")["carp"] if e["state"] == "MASTER"} == {1, 2, 3}
        ),
        timeout=6,
    )
    poll("fw1a", "fw1b")
    after = scrape()

    assert masters(after, "fw-pair-1") == {"1": {"fw1b"}, "2": {"fw1b"}, "3": {"fw1b"}}
    unknown = [
        s.value
        for s in families(after)["nyiops_carp_vhids"].samples
        if s.labels == {"cluster": "fw-pair-1", "state": "UNKNOWN"}
    ]
    assert unknown == [3]  # fw1a's last-seen states are not believed
    errors = {s.labels["kind"]: s.value for s in families(after)["nyiops_ssh_errors"].samples}
    assert errors.get("unreachable", 0) >= 1
    assert poll_count(after) >= poll_count(before) + 2
    assert naming_problems(after) == []
