"""Project package: settings, Celery app, URLs, roles and access decorators. The ground:
imports no app (tests/test_import_structure.py)."""

from nyiops.celery import app as celery_app

__all__ = ("celery_app",)
