"""Signals hosts sends and never listens to, so it never imports a higher app."""

from django.dispatch import Signal

# Sent after a poll's transaction commits, with scopes=["host:<id>", "cluster:<id>", ...]
# whose Finding rows were re-evaluated. The alerts app listens; hosts does not know it.
findings_updated = Signal()
