"""Put back the rows that data migrations create (roles, permissions, appointment types,
consent texts, ...) after a transactional test flushed the database.

pytest-django empties every table after a ``transaction=True`` test, so the next one finds no
roles. ``serialized_rollback`` is no cure when mixed with transactional tests that do not use
it (their flush re-creates content types, which the restore then duplicates). Re-running the
data migrations' own functions, each with the model state of its migration, puts back exactly
what ``migrate`` made; they are written to be idempotent (get_or_create).
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations.special import RunPython

_DATA_MIGRATIONS: list[tuple[object, list[RunPython]]] = []


def _data_migrations() -> list[tuple[object, list[RunPython]]]:
    if not _DATA_MIGRATIONS:
        executor = MigrationExecutor(connection)
        loader = executor.loader
        for migration, _backwards in executor.migration_plan(loader.graph.leaf_nodes(), clean_start=True):
            operations = [op for op in migration.operations if isinstance(op, RunPython)]
            if operations:
                state = loader.project_state((migration.app_label, migration.name), at_end=False)
                _DATA_MIGRATIONS.append((state.apps, operations))
    return _DATA_MIGRATIONS


def restore_migration_data() -> None:
    if Group.objects.exists():
        return  # nothing was flushed
    with connection.schema_editor() as schema_editor:
        for apps, operations in _data_migrations():
            for operation in operations:
                operation.code(apps, schema_editor)
