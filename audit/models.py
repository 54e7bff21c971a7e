"""AuditRecord, append-only (RELIABILITY.md D9)."""

from django.conf import settings
from django.db import models


class AppendOnlyError(ValueError):
    """Raised for any attempt to change or remove an audit record."""


class AuditRecordQuerySet(models.QuerySet):
    """Bulk paths skip Model.save()/delete(), so they are closed here too: an audit trail
    that one `.update()` can rewrite proves nothing (RELIABILITY.md D9)."""

    def update(self, **kwargs):
        # The one write allowed: deleting a user sets `actor` to NULL (on_delete=SET_NULL,
        # done by the deletion collector through update()); actor_name keeps the name.
        if kwargs == {"actor": None}:
            return super().update(**kwargs)
        raise AppendOnlyError("audit records are append-only: update() is refused")

    def delete(self):
        raise AppendOnlyError("audit records are append-only: delete() is refused")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit records are append-only: bulk_update() is refused")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("audit records are append-only: update_or_create() is refused")

    def _update(self, values):
        # The path Model.save() takes for an existing row, below update().
        raise AppendOnlyError("audit records are append-only")


class AuditRecord(models.Model):
    """One change anyone made, written by the service that made it. Append-only: the model
    refuses updates and deletes, and the admin is read-only (RELIABILITY.md D9)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text too, so the record still names the person after the user is deleted;
    # "system" for workers and management commands run without --user.
    actor_name = models.CharField(max_length=150)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit records are append-only")
