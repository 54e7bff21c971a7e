"""The dashboard's generation: a number that grows whenever something a NOC widget shows
has changed, so the read side can compute each widget once per generation and let every
viewer reuse it (hosts/dashboard/generation.py bumps and reads it; docs/dashboard.md).

One row per writing thread ("slot"), never shared by two concurrent transactions: a bump is
an upsert of the writer's own row inside the writer's transaction, so it commits (and
becomes visible) atomically with the change it announces, and it never waits for another
transaction's lock, which a single counter row bumped by every poll would (serializing the
poll commits and risking deadlocks). The generation is the sum of the rows; it only grows."""

from django.db import models


class DashboardGeneration(models.Model):
    slot = models.CharField(max_length=120, primary_key=True)  # host:pid:thread of the writer
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.slot}: {self.value}"
