"""Findings as the poller's health rules would write them, and an on-call setup."""

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from alerts.choices import ChannelKind, TargetType
from alerts.models import (
    EscalationPolicy,
    EscalationStep,
    NotificationChannel,
    OnCallSchedule,
    ScheduleMember,
)
from hosts.models import Finding
from nyiops.roles import NOC
from tests.factories import ClusterFactory


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    kind = "mirror_degraded"
    severity = "warning"
    subject = "host"
    message = "gm0 DEGRADED: ada1 missing"
    details = factory.LazyFunction(lambda: {"disks": ["ada1"]})
    dedup_key = factory.Sequence(lambda n: f"finding:{n}")
    scope = factory.LazyAttribute(
        lambda f: f"host:{f.host.pk}" if f.host else f"cluster:{f.cluster.pk}"
    )
    host = None
    cluster = None
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)


def failover_finding(cluster, *, new="fw1b", old="fw1a", vhids=(1, 2), severity="warning"):
    vhid_text = ", ".join(str(v) for v in vhids)
    return FindingFactory(
        cluster=cluster,
        kind="preferred_master_is_backup",
        severity=severity,
        subject=cluster.name,
        dedup_key=f"preferred_master_is_backup:cluster:{cluster.name}",
        message=(
            f"{new} became MASTER for vhid {vhid_text} (was {old}) at 12:03:04; "
            "pfsync in sync, state tables 41,210 / 41,198"
        ),
        details={
            "new_master": new,
            "old_master": old,
            "vhids": list(vhids),
            "at": "2026-11-28T12:03:04+00:00",
            "pfsync_ok": True,
            "states": [41210, 41198],
        },
    )


def replace_findings(scope, *findings_kwargs):
    """What the poller does: replace a scope's findings in one go."""
    Finding.objects.filter(scope=scope).delete()
    return [FindingFactory(**kw) for kw in findings_kwargs]


def email_channel(user):
    return NotificationChannel.objects.create(
        user=user, name=f"{user.username} email", kind=ChannelKind.EMAIL, email=user.email
    )


def oncall_setup(primary, secondary, *, start=None, delays=(0, 5, 10), repeat=0, cap=30):
    """The demo's default policy: on-call now -> secondary after 5 min -> team NOC after 10."""
    start = start or timezone.now() - dt.timedelta(days=1)
    schedule = OnCallSchedule.objects.create(
        name="Primary rotation",
        timezone="UTC",
        start_date=start.date(),
        handoff_time=dt.time(0, 0),
    )
    ScheduleMember.objects.create(schedule=schedule, user=primary, position=0)
    ScheduleMember.objects.create(schedule=schedule, user=secondary, position=1)
    for user in (primary, secondary):
        email_channel(user)
    policy = EscalationPolicy.objects.create(
        name="Default", is_default=True, repeat=repeat, max_pages_per_hour=cap
    )
    EscalationStep.objects.create(
        policy=policy,
        position=0,
        delay_minutes=delays[0],
        target_type=TargetType.ONCALL,
        schedule=schedule,
        level=0,
    )
    EscalationStep.objects.create(
        policy=policy,
        position=1,
        delay_minutes=delays[1],
        target_type=TargetType.ONCALL,
        schedule=schedule,
        level=1,
    )
    EscalationStep.objects.create(
        policy=policy,
        position=2,
        delay_minutes=delays[2],
        target_type=TargetType.GROUP,
        group=Group.objects.get(name=NOC),
    )
    return schedule, policy


__all__ = ["ClusterFactory", "FindingFactory", "failover_finding", "oncall_setup"]
