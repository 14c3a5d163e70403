"""The generator: the steps in order in one transaction, then the indexes tidied and the
tables analysed. Each step is a module of this package."""

from __future__ import annotations

import random
import time as clock
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from devdata.large.appointments import AppointmentsStep
from devdata.large.courses import CoursesStep
from devdata.large.database import foreign_data, has_generated_data, wipe_generated
from devdata.large.outbox import OutboxStep
from devdata.large.patients import PatientsStep
from devdata.large.sizes import FUTURE_DAYS, Sizes
from devdata.large.slots import CalendarStep
from devdata.large.staff import StaffStep
from devdata.large.tables import Table


class Generator(StaffStep, PatientsStep, CalendarStep, CoursesStep, AppointmentsStep, OutboxStep):
    """Builds the clinic step by step (``run``), one step a module. The steps share one random
    sequence (``rng``, from the seed: the same seed gives the same clinic) and what the earlier
    steps made: staff and practitioners, patients, the calendar's slots, the courses."""

    def __init__(self, sizes: Sizes, *, log) -> None:
        self.sizes = sizes
        self.log = log
        self.rng = random.Random(sizes.seed)  # noqa: S311 - reproducible fake data, not secrets
        self.now = timezone.now().replace(microsecond=0)
        self.today = timezone.localdate(self.now)
        days = max(round(365 * sizes.years), 1)
        self.first_day = self.today - timedelta(days=max(days - FUTURE_DAYS, 1))
        self.last_day = self.today + timedelta(days=min(FUTURE_DAYS, days))
        self.counts: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        started = clock.monotonic()
        self.staff()
        self.step("staff, rooms, hours", started)
        self.patients()
        self.step("patients and histories", started)
        self.calendar()
        self.step("calendar laid out", started)
        self.treatments()
        self.step("courses and consultations", started)
        self.appointments_and_messages()
        self.step("appointments and outbox", started)
        with connection.cursor() as cursor:
            # Rows COPYed into a GIN index (the trigram search indexes) wait in its pending list,
            # which every search would scan until the next vacuum: merge them now.
            cursor.execute(
                "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'gin' AND c.relnamespace = 'public'::regnamespace"
            )
            cursor.execute("ANALYZE")
        self.step("GIN pending lists merged, ANALYZE", started)
        return self.counts

    def step(self, label: str, started: float) -> None:
        self.log(f"  {clock.monotonic() - started:6.1f} s  {label}")

    def flush(self, *tables: Table) -> None:
        for table in tables:
            self.counts[table.model._meta.label] = self.counts.get(table.model._meta.label, 0) + table.flush()


def generate(sizes: Sizes, *, log, allow_existing_data: bool = False) -> dict[str, int]:
    """Build the clinic in one transaction. Raises ValueError (with the reason) when the
    database holds data the generator did not make and ``allow_existing_data`` is false."""
    with transaction.atomic():
        foreign = foreign_data()
        if foreign and not allow_existing_data:
            raise ValueError(
                f"This database holds data that seed_large did not generate ({', '.join(foreign)}). "
                "Point DATABASE_URL at an empty database (e.g. .../clinic_large), or pass "
                "--allow-existing-data to add the generated clinic beside that data."
            )
        if has_generated_data():
            if foreign:
                raise ValueError(
                    "This database holds a generated clinic and other data: the generated one cannot be "
                    "replaced without touching the rest. Use an empty database."
                )
            log("  Replacing the clinic generated earlier.")
            wipe_generated()
        counts = Generator(sizes, log=log).run()
    if not connection.in_atomic_block:
        # Outside a transaction (not in tests): VACUUM too, so that the visibility map is set
        # and index-only scans work from the first query on.
        started = clock.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        log(f"  VACUUM ANALYZE: {clock.monotonic() - started:.1f} s")
    return counts


def summary(counts: dict[str, int]) -> Iterable[str]:
    for label, count in counts.items():
        yield f"  {label:<32} {count:>9,}"
