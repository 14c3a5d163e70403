"""Django's database sessions (SESSION_ENGINE), with the session read by a written-out
statement, prepared once per connection (clinic/prepared.py): every signed-in request reads
its session, and the ORM spent longer building that query than the database spent answering
it. Writing, expiry and cleanup are Django's."""

from __future__ import annotations

from functools import cache

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from clinic.prepared import PreparedStatement


@cache
def _statement(table: str) -> PreparedStatement:
    sql = f'SELECT session_data FROM "{table}" WHERE session_key = %s AND expire_date > %s'  # noqa: S608
    return PreparedStatement("session", sql)


class SessionStore(db.SessionStore):
    def load(self):
        model = self.model
        with connections[router.db_for_read(model)].cursor() as cursor:
            _statement(model._meta.db_table).execute(cursor, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:  # unknown or expired: a new session begins, as Django's own store does
            self._session_key = None
            return {}
        return self.decode(row[0])
