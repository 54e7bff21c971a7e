"""The dashboard's generations: numbers that grow whenever something a NOC widget shows has
changed, one per topic (a widget, or the cluster widgets of one kind), so the read side can
compute each widget once per generation of its topic and let every viewer reuse it
(hosts/dashboard/generation.py bumps and reads them; docs/dashboard.md).

One row per writing thread and topic ("slot"), never shared by two concurrent
transactions: a bump is an upsert of the writer's own rows inside the writer's transaction,
so it commits (and becomes visible) atomically with the change it announces, and it never
waits for another transaction's lock, which a single counter row bumped by every poll would
(serializing the poll commits and risking deadlocks). A topic's generation is the sum of its
rows; it only grows. Rows of threads long gone are folded into one row per topic."""

from django.db import models


class DashboardGeneration(models.Model):
    # host:pid:thread of the writer, then the topic ("folded" instead of a writer: the sum
    # of rows whose writers are gone).
    slot = models.CharField(max_length=120, primary_key=True)
    topic = models.CharField(max_length=20, default="")
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.slot}: {self.value}"
