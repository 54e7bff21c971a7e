"""Alerts: findings become alerts, grouped, escalated along on-call schedules, paged and
acknowledged."""
