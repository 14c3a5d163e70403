"""python manage.py seed_large: a large, realistic clinic for benchmarks (see devdata/large.py).

    DATABASE_URL=postgres://127.0.0.1:5432/clinic_large \\
        python manage.py seed_large --patients 100000 --practitioners 20 --years 1
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from devdata import large as largedata


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value <= 10:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = "Generate a large clinic (patients, calendars, courses, outbox) in an empty database, for benchmarks."

    def add_arguments(self, parser):
        defaults = largedata.Sizes()
        parser.add_argument("--patients", type=positive_int, default=defaults.patients)
        parser.add_argument("--practitioners", type=positive_int, default=defaults.practitioners)
        parser.add_argument(
            "--years", type=positive_float, default=defaults.years, help="length of the calendar (up to 10 years)"
        )
        parser.add_argument(
            "--appointments-per-day",
            type=positive_int,
            default=defaults.appointments_per_day,
            help="appointments per practitioner per working day (about)",
        )
        parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (same seed, same clinic)")
        parser.add_argument(
            "--allow-existing-data",
            action="store_true",
            help="add the generated clinic to a database that holds other data (it is left untouched)",
        )

    def handle(self, *args, **options):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not fully migrated: run `manage.py migrate` first.")
        sizes = largedata.Sizes(
            patients=options["patients"],
            practitioners=options["practitioners"],
            years=options["years"],
            appointments_per_day=options["appointments_per_day"],
            seed=options["seed"],
        )
        self.stdout.write(
            f"Generating {sizes.patients:,} patients, {sizes.practitioners} practitioners, {sizes.years:g} year(s)..."
        )
        started = time.monotonic()
        try:
            counts = largedata.generate(
                sizes, log=self.stdout.write, allow_existing_data=options["allow_existing_data"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        elapsed = time.monotonic() - started
        for line in largedata.summary(counts):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Done in {elapsed:.1f} s."))
        self.stdout.write(
            f"Staff logins: {largedata.USERNAME_PREFIX}doctor01.., {largedata.USERNAME_PREFIX}reception01.., "
            f"{largedata.USERNAME_PREFIX}manager (password {largedata.PASSWORD})."
        )
