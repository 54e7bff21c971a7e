"""Demo on-call set-up (idempotent): a weekly rotation of `oncall` (primary) and `noc`
(secondary), the default policy (on-call now -> secondary after 5 min -> team NOC after
10 min more, repeated once) and an email channel per staff demo user."""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from alerts.choices import ChannelKind, TargetType
from alerts.models import (
    EscalationPolicy,
    EscalationStep,
    NotificationChannel,
    OnCallSchedule,
    ScheduleMember,
)
from nyiops.roles import NOC


class Command(BaseCommand):
    help = "Create the demo on-call schedule, escalation policy and email channels."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_oncall_demo is for the demo only")
        users = {
            u.username: u for u in get_user_model().objects.filter(username__in=["oncall", "noc"])
        }
        if set(users) != {"oncall", "noc"}:
            raise CommandError("run seed_demo first: the users oncall and noc are missing")
        today = timezone.now().date()
        with transaction.atomic():
            schedule, _ = OnCallSchedule.objects.update_or_create(
                name="Demo weekly rotation",
                defaults={
                    # Start on this week's Monday, so today falls in the oncall user's shift.
                    "start_date": today - dt.timedelta(days=today.weekday()),
                    "handoff_time": dt.time(9, 0),
                    "rotation_days": 7,
                    "timezone": "UTC",
                },
            )
            for position, name in enumerate(["oncall", "noc"]):
                ScheduleMember.objects.update_or_create(
                    schedule=schedule, position=position, defaults={"user": users[name]}
                )
            schedule.members.filter(position__gt=1).delete()
            policy, _ = EscalationPolicy.objects.update_or_create(
                name="Default", defaults={"is_default": True, "repeat": 1}
            )
            EscalationPolicy.objects.exclude(pk=policy.pk).update(is_default=False)
            steps = [
                {
                    "delay_minutes": 0,
                    "target_type": TargetType.ONCALL,
                    "schedule": schedule,
                    "level": 0,
                },
                {
                    "delay_minutes": 5,
                    "target_type": TargetType.ONCALL,
                    "schedule": schedule,
                    "level": 1,
                },
                {
                    "delay_minutes": 10,
                    "target_type": TargetType.GROUP,
                    "group": Group.objects.get(name=NOC),
                },
            ]
            for position, fields in enumerate(steps):
                EscalationStep.objects.update_or_create(
                    policy=policy,
                    position=position,
                    defaults={"schedule": None, "group": None, "user": None, "level": 0} | fields,
                )
            for user in users.values():
                NotificationChannel.objects.update_or_create(
                    user=user,
                    kind=ChannelKind.EMAIL,
                    defaults={
                        "name": f"{user.username} email",
                        "email": user.email or f"{user.username}@nyiops.example",
                    },
                )
        self.stdout.write(
            self.style.SUCCESS(
                "On-call demo ready: oncall (primary), noc (secondary), default policy, emails"
            )
        )
