"""Overrides, swaps and maintenance windows through their services (audited)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts import routing, schedule_services, services, sweeps
from alerts.models import Alert
from audit.models import AuditRecord
from tests.alerts.conftest import T0, run_due
from tests.factories import FindingFactory, HostFactory

pytestmark = pytest.mark.django_db


def test_swap_exchanges_this_week_and_next(clock, oncall, oncall_user, noc_user):
    schedule, _policy = oncall
    next_week = T0 + dt.timedelta(days=7)

    schedule_services.swap_shifts(
        schedule,
        user_a=oncall_user,
        shift_of_a=T0,
        user_b=noc_user,
        shift_of_b=next_week,
        by=noc_user,
    )

    assert routing.on_call_user_id(schedule, T0, 0) == noc_user.pk
    assert routing.on_call_user_id(schedule, T0, 1) == oncall_user.pk
    assert routing.on_call_user_id(schedule, next_week, 0) == oncall_user.pk
    assert AuditRecord.objects.filter(action="alerts.override").count() == 4


def test_swap_of_a_shift_with_itself_is_refused(clock, oncall, oncall_user, noc_user):
    with pytest.raises(ValidationError):
        schedule_services.swap_shifts(
            oncall[0],
            user_a=oncall_user,
            shift_of_a=T0,
            user_b=noc_user,
            shift_of_b=T0,
            by=noc_user,
        )


def test_override_pages_the_stand_in(clock, oncall, noc_user):
    schedule, _policy = oncall
    stand_in = noc_user
    schedule_services.add_override(
        schedule,
        user=stand_in,
        starts_at=T0,
        ends_at=T0 + dt.timedelta(hours=2),
        reason="dentist",
        by=noc_user,
    )
    host = HostFactory()
    FindingFactory(host=host)
    services.sync_alerts([f"host:{host.pk}"])

    run_due(timezone.now())

    assert list(Alert.objects.get().notifications.values_list("recipient", flat=True)) == [
        stand_in.pk
    ]


def test_ending_a_silence_early_pages_what_still_fires(clock, oncall, noc_user):
    host = HostFactory()
    window = schedule_services.silence(host, minutes=60, reason="noisy disk", by=noc_user)
    FindingFactory(host=host)
    services.sync_alerts([f"host:{host.pk}"])
    assert Alert.objects.get().suppressed

    schedule_services.end_window(window, by=noc_user)
    clock.shift(dt.timedelta(seconds=1))
    sweeps.release_silenced(timezone.now())
    run_due(timezone.now())

    alert = Alert.objects.get()
    assert not alert.suppressed and alert.notifications.filter(status="sent").count() == 1
    assert AuditRecord.objects.filter(action="alerts.silence").exists()
    assert AuditRecord.objects.filter(action="alerts.maintenance_end").exists()


def test_window_needs_an_end_after_its_start(clock, noc_user):
    host = HostFactory()
    with pytest.raises(ValidationError):
        schedule_services.schedule_window(
            target=host, starts_at=T0, ends_at=T0, reason="x", by=noc_user
        )
