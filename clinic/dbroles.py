"""The database role the application runs as.

Migrations run as the role that owns the tables; the web processes and workers run as another
role (``DATABASE_APP_ROLE``) that owns nothing. It may read and write the application's tables,
but on the audit trail it may only read and append: without ownership it cannot drop or disable
the triggers that guard the trail, and it holds no UPDATE, DELETE or TRUNCATE privilege there.
"""

from __future__ import annotations

AUDIT_TABLE = "clinic_auditentry"


def app_role_exists(connection, role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def grant_app_role(connection, role: str) -> None:
    """Give ``role`` what the application needs, now and for tables migrations create later."""
    name = connection.ops.quote_name(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}",
        # Tables that later migrations create (as the same owner) get the same grants.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {name}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {AUDIT_TABLE} FROM {name}",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
