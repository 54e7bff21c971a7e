"""Django's database sessions, whose one read per request is sent as plain SQL.

Every request that carries a session cookie reads its session row; through the ORM that read
cost more CPU to compile than the database took to answer it (nyiops.rows says why that
matters). The row, its expiry check and what follows (decoding, a session that is gone or
expired starting empty) are Django's: only the SELECT is built once instead of per request.
SESSION_ENGINE = "nyiops.sessions"."""

from __future__ import annotations

import functools

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

from nyiops import rows


@functools.cache
def _session_sql(model, using: str) -> str:
    q, meta = rows.quote(using), model._meta
    key, expires = meta.get_field("session_key").column, meta.get_field("expire_date").column
    return (
        f"SELECT {rows.columns(model, using, 's')} FROM {q(meta.db_table)} s "  # noqa: S608
        f"WHERE s.{q(key)} = %s AND s.{q(expires)} > %s"
    )


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        using = router.db_for_read(self.model)
        now = connections[using].ops.adapt_datetimefield_value(timezone.now())
        row = rows.fetch_one(using, _session_sql(self.model, using), [self.session_key, now])
        if row is None:
            self._session_key = None  # gone or expired: a new session, as Django does
            return None
        return rows.instance(self.model, row, using)
