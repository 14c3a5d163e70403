"""python manage.py grant_app_role: grant DATABASE_APP_ROLE its privileges (run as the owner)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from clinic.dbroles import app_role_exists, grant_app_role


class Command(BaseCommand):
    help = "Grant the application's database role (DATABASE_APP_ROLE) its privileges; run as the tables' owner."

    def handle(self, *args, **options):
        role = settings.DATABASE_APP_ROLE
        if not role:
            raise CommandError("DATABASE_APP_ROLE is empty: there is no application role to grant.")
        if not app_role_exists(connection, role):
            raise CommandError(f"The database role {role!r} does not exist: create it first (CREATE ROLE ... LOGIN).")
        grant_app_role(connection, role)
        self.stdout.write(self.style.SUCCESS(f"Granted {role} its privileges (audit trail: read and append)."))
