"""Statements planned once per database connection rather than on every request.

PostgreSQL plans each statement it receives. For the few written-out statements nearly every
page runs (the user with their grants, the calendar versions), planning costs as much as
answering: a third of a millisecond for the user, as much again for a grid's version, while
their plans never change. psycopg2 sends statements as text and never prepares one, so a
``PreparedStatement`` does it itself: the first time a connection runs it, ``PREPARE`` (which is
not transactional: a rollback keeps it), then ``EXECUTE`` with the values.

Only for statements whose text is fixed (a module constant): each distinct text is one
statement kept by every connection for its lifetime. The values are still passed by psycopg2,
as literals PostgreSQL casts to the types it inferred when preparing.

After ``EXECUTE`` has run five times PostgreSQL may keep one generic plan for every value (the
planning saved) or go on planning for each (nothing saved): it compares their estimated costs.
Write the statements so that one plan suits every value (a lookup by id, a correlated
subquery rather than a join that could turn into a hash of the whole table).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from django.db import DatabaseError
from django.db import connection as default_connection
from psycopg2 import errors

# psycopg2's placeholders, and its escaped percent sign.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")


class PreparedStatement:
    """A statement written with psycopg2's placeholders (all ``%s`` or all ``%(name)s``),
    prepared on each connection the first time that connection runs it. ``label`` names it in
    the database's logs (``EXECUTE clinic_user_…``); the rest of the name is the text's digest,
    so two texts never share a name."""

    def __init__(self, label: str, sql: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", label):
            raise ValueError(f"A statement's label is a short lower-case name, not {label!r}.")
        self.sql = sql
        self.name = f"clinic_{label}_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]
        names: list[str] = []
        positional = 0

        def number(match: re.Match) -> str:
            nonlocal positional
            if match.group(0) == "%%":
                return "%"
            if match.group(1) is None:
                positional += 1
                return f"${positional}"
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        self.body = _PLACEHOLDER.sub(number, sql)
        if positional and names:
            raise ValueError("A prepared statement takes %s or %(name)s placeholders, not both.")
        # The parameter names in the order of $1, $2...; None for positional ones.
        self.names: tuple[str, ...] | None = tuple(names) if names else None
        self.count = len(names) if names else positional
        values = f"({', '.join(['%s'] * self.count)})" if self.count else ""
        self.execute_sql = f"EXECUTE {self.name}{values}"

    def values(self, params: Sequence | Mapping) -> list:
        values = list(params) if self.names is None else [params[name] for name in self.names]
        if len(values) != self.count:
            raise ValueError(f"The statement takes {self.count} values, not {len(values)}.")
        return values

    def execute(self, cursor, params: Sequence | Mapping = ()) -> None:
        """Run the statement on ``cursor`` (a Django cursor), preparing it first if that
        cursor's connection has not yet; the rows are then read from the cursor."""
        wrapper = getattr(cursor, "db", default_connection)
        record = _record_of(wrapper)
        # Setting up the connection, as Django's own SET statements on connecting: not one of
        # the request's queries (nor counted as one by the tests' query budgets).
        if record.unsure:
            with wrapper.wrap_database_errors:
                record.read_back(cursor.cursor)
        state = record.states.get(self.name)
        if state is not _READY:
            with wrapper.wrap_database_errors:
                if state is _STALE:
                    cursor.cursor.execute(f"DEALLOCATE {self.name}")
                cursor.cursor.execute(f"PREPARE {self.name} AS {self.body}")
            record.states[self.name] = _READY
        try:
            cursor.execute(self.execute_sql, self.values(params))
        except DatabaseError as error:
            if isinstance(error.__cause__, errors.InvalidSqlStatementName):
                # Gone: someone dropped this connection's statements (DISCARD ALL, DEALLOCATE
                # ALL). Which are left is read back from PostgreSQL the next time.
                record.states.pop(self.name, None)
                record.unsure = True
            elif isinstance(error.__cause__, errors.FeatureNotSupported):
                # Its table changed under it so that its rows would change shape ("cached plan
                # must not change result type"): this request fails as the statement would
                # have, the next one replaces it.
                record.states[self.name] = _STALE
            raise


_READY, _STALE = "ready", "stale"


class _Record:
    """What one database connection has prepared, by name."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.states: dict[str, str] = {}
        self.unsure = False

    def read_back(self, raw_cursor) -> None:
        raw_cursor.execute("SELECT name FROM pg_prepared_statements")
        present = {name for (name,) in raw_cursor.fetchall()}
        self.states = {name: self.states.get(name, _READY) for name in present if name.startswith("clinic_")}
        self.unsure = False


def _record_of(wrapper) -> _Record:
    """The record of ``wrapper``'s current database connection: a new one whenever Django has
    opened a new connection (a closed one forgets its statements)."""
    record = wrapper.__dict__.get("_clinic_prepared")
    if record is None or record.raw is not wrapper.connection:
        record = wrapper.__dict__["_clinic_prepared"] = _Record(wrapper.connection)
    return record
