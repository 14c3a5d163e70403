"""Rows written with PostgreSQL's COPY from an in-memory buffer, their ids chosen here."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time

from django.db import connection, models


def _escape(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, list | tuple):
        return "{" + ",".join(f'"{item}"' for item in value) + "}"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


class Table:
    """Rows for one model, written by COPY; ids are handed out by ``new_id``."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.model = model
        self.fields = ["id", *fields]
        meta = model._meta
        self.columns = [meta.get_field(name).column for name in self.fields]
        missing = [
            field.name
            for field in meta.concrete_fields
            if not field.null
            and field.name not in self.fields
            and field.attname not in self.fields
            and not isinstance(field, models.GeneratedField)
            and field.db_default is models.NOT_PROVIDED
        ]
        if missing:
            raise RuntimeError(f"{meta.label}: the generator gives no value for {', '.join(missing)}")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {meta.db_table}")  # noqa: S608 - our table name
            self.next_id = cursor.fetchone()[0] + 1
        self.buffer = io.StringIO()
        self.count = 0

    def new_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def add(self, *values) -> int:
        """Add a row (values in the order of ``fields``, without the id); returns its id."""
        row_id = self.new_id()
        self.add_with_id(row_id, *values)
        return row_id

    def add_with_id(self, row_id: int, *values) -> None:
        self.buffer.write(f"{row_id}\t" + "\t".join(map(_escape, values)) + "\n")
        self.count += 1

    def flush(self) -> int:
        table = self.model._meta.db_table
        self.buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(self.columns)}) FROM STDIN", self.buffer)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(MAX(id), 1)) FROM " + table,  # noqa: S608
                [table],
            )
        written, self.count = self.count, 0
        self.buffer = io.StringIO()
        return written
