"""python manage.py verify_audit: check the audit trail's hash chain; exit 1 at the first break."""

from django.core.management.base import BaseCommand, CommandError

from clinic.audit import audit_chain_check


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and report the first broken link."

    def handle(self, *args, **options):
        check = audit_chain_check()
        if not check.intact:
            raise CommandError(f"Audit trail broken at entry #{check.broken_at}: {check.problem}.")
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {check.entries} entries."))
