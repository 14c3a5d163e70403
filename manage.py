#!/usr/bin/env python
import os
import secrets
import sys

# Commands that only read the models and the migrations: they sign nothing and serve nothing,
# so without a SECRET_KEY in the environment a throwaway one stands in (CI and editors run
# them on a bare checkout). `check --deploy` judges the real production settings: not these.
SCHEMA_COMMANDS = frozenset({"check", "makemigrations", "showmigrations", "sqlmigrate"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in SCHEMA_COMMANDS and "--deploy" not in sys.argv and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(64)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - read the settings now: a bad environment is one line, not a traceback
    except ImproperlyConfigured as error:
        sys.exit(f"manage.py: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
