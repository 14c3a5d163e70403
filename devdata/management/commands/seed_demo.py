"""python manage.py seed_demo: demo staff, ~200 patients with histories, and the demo data of
the other apps. Running it again changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand

from devdata.demo import patients as demo
from devdata.demo import scheduling as scheduling_demo
from devdata.demo import treatments as treatments_demo


class Command(BaseCommand):
    help = "Create demo staff accounts and realistic demo patients (idempotent)."

    def handle(self, *args, **options):
        staff = demo.seed_staff()
        created = demo.seed_patients(doctor=staff["doctor"])
        self.stdout.write(f"Patients: {created} created.")
        for module in (treatments_demo, scheduling_demo):
            module.seed_demo_data(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):"))
        for username, first, last, role in demo.DEMO_STAFF:
            self.stdout.write(f"  {username:<10} {role:<13} {first} {last}")
        if settings.REQUIRE_2FA:
            self.stdout.write(
                "Two-factor authentication is required (REQUIRE_2FA): each demo user sets up an "
                "authenticator app at first login. bin/run sets REQUIRE_2FA=false to skip it."
            )
