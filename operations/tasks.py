"""Operation tasks on the `operations` queue. Thin: call the engine or a sweeper.

A duplicate or redelivered `run_operation` is harmless: the engine's claim is a conditional
transition that only one delivery wins (RELIABILITY A4), and a resumed run re-polls before
it decides anything (A3)."""

from __future__ import annotations

from nyiops.tasks import nyiops_task
from operations import engine, services


# The lock lease (10 min) outlives the hard limit, so a killed run's locks expire after it.
@nyiops_task(queue="operations", soft_time_limit=540, time_limit=570, retry=None)
def run_operation(operation_id: int) -> str:
    return engine.run(operation_id)


@nyiops_task(queue="operations", soft_time_limit=50, time_limit=60, retry=None)
def sweep_operations() -> str:
    """Re-dispatch what the broker never got, runs whose worker died, and answers due."""
    expired = services.expire_stale_plans()
    sent = services.redispatch_undelivered()
    return f"{sent} operations re-dispatched, {expired} plans expired"
