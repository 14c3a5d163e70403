"""python manage.py backup [--destination DIR]: the database and the private media, with a
manifest of versions, migrations, row counts and checksums (clinic/backup.py)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and PRIVATE_MEDIA_ROOT into a dated folder with a manifest."

    def add_arguments(self, parser):
        parser.add_argument(
            "--destination",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "backups",
            help="Folder to write the backup folder into (default var/backups).",
        )

    def handle(self, *args, destination: Path, **options):
        try:
            folder = backup_create(destination=destination)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Backup written to {folder}"))
