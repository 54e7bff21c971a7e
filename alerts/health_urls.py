"""Probe URLs mounted under /healthz/ by nyiops/urls.py."""

from django.urls import path

from alerts.health_views import worker_health

urlpatterns = [path("worker", worker_health, name="healthz-worker")]
