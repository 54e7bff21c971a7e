"""The poller's contract: after a poll commits, hosts sends `findings_updated` with the
scopes it re-evaluated, and alerts follow the findings at once."""

import logging

from django.db import DatabaseError

from alerts import services

log = logging.getLogger(__name__)


def on_findings_updated(sender, *, scopes, **kwargs):
    try:
        result = services.sync_alerts(scopes)
    except DatabaseError:
        # The poll itself is committed; the 30 s sync_all_alerts sweep covers this scope.
        log.exception("sync_alerts failed for %s; the sweeper will catch up", scopes)
        return
    if result.opened or result.resolved or result.worsened:
        log.info("alerts for %s: %s", ",".join(scopes), result)
