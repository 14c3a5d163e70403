"""Create the database named by DATABASE_URL if it does not exist yet, and the role the
application runs as (DATABASE_APP_ROLE, owning nothing) if it does not exist and we may."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

import django

django.setup()

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from psycopg2 import sql  # noqa: E402

db = settings.DATABASES["default"]
params = {"dbname": "postgres", "user": db["USER"] or None, "password": db["PASSWORD"] or None,
          "host": db["HOST"] or None, "port": db["PORT"] or None}  # fmt: skip
connection = psycopg2.connect(**{key: value for key, value in params.items() if value is not None})
connection.autocommit = True
with connection.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
        print(f"ensure_database: created {db['NAME']}")
    role = settings.DATABASE_APP_ROLE
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if role and cursor.fetchone() is None:
        try:
            # NOLOGIN: locally the application switches to it (DATABASE_ROLE); in production
            # give it LOGIN and a password and connect as it (README, Security).
            cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            print(f"ensure_database: created the role {role}")
        except psycopg2.Error as error:
            print(f"ensure_database: could not create the role {role} ({error.pgerror or error}).", file=sys.stderr)
connection.close()
