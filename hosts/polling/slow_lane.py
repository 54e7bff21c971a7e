"""The slow lane: hosts whose last poll timed out are polled on a few threads of their own.

A host that times out (a tarpit that never sends its banner, a command that hangs) holds its
poll thread for its whole SSH deadline, 10 to 15 s of every 15 s interval; on the regular poll
threads it leaves one fewer for everybody else's polls, and its batch's task waits for it.
On the slow lane it holds neither: the regular threads stay free, and the batch returns
when its other hosts are stored.

The lane never queues: a poll is taken only when one of its threads is free. A queued poll
of a timing-out host would wait for another one's timeout and could outlive its claim's
lease, and in a site outage (hundreds of hosts timing out at once) the queue would grow
every interval without bound. A poll the lane refuses runs on a regular poll thread and its
batch waits for it, as every poll did before the lane existed: a full lane degrades to that,
never to a backlog. A host whose poll on the lane succeeds is no longer "timed out", so its
next poll is a regular one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db.models import OuterRef, Subquery

from hosts.choices import Reachability
from hosts.models import Host, PollRun


def timed_out_hosts(host_ids: list[int]) -> set[int]:
    """The hosts among `host_ids` whose last poll ended in a timeout: unreachable, and their
    latest PollRun (a failed poll always writes one) is `timed_out` (an SSH deadline or the
    poll's own). One query; the PollRun lookup runs only for unreachable hosts."""
    last_status = (
        PollRun.objects.filter(host=OuterRef("pk")).order_by("-started_at").values("status")[:1]
    )
    return set(
        Host.objects.filter(pk__in=host_ids)
        .exclude(reachability=Reachability.OK)
        .annotate(last_status=Subquery(last_status))
        .filter(last_status=PollRun.Status.TIMED_OUT)
        .values_list("pk", flat=True)
    )


class SlowLane:
    """A thread pool that takes a job only when one of its threads is free."""

    def __init__(self, threads: int):
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="poll-slow")
        self._free = threading.BoundedSemaphore(threads)

    def offer(self, job: Callable, *args) -> bool:
        """Start `job(*args)` on a free thread and return True; False, starting nothing,
        when every thread is busy."""
        if not self._free.acquire(blocking=False):
            return False
        try:
            future = self._pool.submit(job, *args)
        except BaseException:
            self._free.release()
            raise
        future.add_done_callback(lambda _: self._free.release())
        return True

    def submit(self, job: Callable, *args):
        """Run `job(*args)` on the lane's threads regardless of the bound (shutdown work)."""
        return self._pool.submit(job, *args)

    def shutdown(self) -> None:
        """Wait for the polls in flight (each ends by its own deadline) and stop."""
        self._pool.shutdown(wait=True)
