"""python manage.py restore <backup folder> [--database-url URL] [--media-root DIR]: into an
EMPTY database only; checksums first, then pg_restore and the media (clinic/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into an empty database and an empty media folder."

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="The backup folder (clinic-backup-...).")
        parser.add_argument(
            "--database-url", default="", help="postgres:// URL of the empty database (default: DATABASE_URL)."
        )
        parser.add_argument("--media-root", type=Path, default=None, help="Default: PRIVATE_MEDIA_ROOT.")

    def handle(self, *args, backup: Path, database_url: str, media_root: Path | None, **options):
        try:
            report = backup_restore(backup=backup, database_url=database_url or None, media_root=media_root)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {report.tables} tables ({report.rows} rows, matching the manifest), "
                f"{report.media_files} media files; audit trail intact ({report.audit_entries} entries)."
            )
        )
