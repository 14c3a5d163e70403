"""Benchmark (not a test): the calendars, the slot finder, search, clinical pages, booking and
one gunicorn setup, on a large generated clinic. Prints median, p95, SQL queries and the
ratio to a hand-written SQL floor, says PASS or MISS against each target, and appends the
figures to docs/benchmarks.md.

    make bench        # or: .venv/bin/python tests/perf/bench_clinic.py [--runs 100] [--load-seconds 20]

Uses its own database (BENCH_DATABASE_URL, default postgres://127.0.0.1:5432/clinic_large). If
that database holds no generated clinic yet, it is migrated and filled with
``manage.py seed_large`` (100,000 patients, 20 practitioners, one year) first. Bookings made
by the benchmark are deleted again at the end; audit entries (append-only) stay.

``--scale`` then runs the same measures on a second, larger clinic (BENCH_SCALE_DATABASE_URL,
default clinic_large_300k: 300,000 patients, 60 practitioners, built by seed_large the first
time, about 3 minutes on 2 cores). Each run records the load average before and after; a run
begun or ended at a load above 2 is marked as noisy (other work was competing for the cores).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://127.0.0.1:5432/clinic_large")
# Production settings, as a deployment would run them (TLS is assumed at a proxy in front).
BENCH_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DEBUG": "false",
    "SECRET_KEY": "bench-clinic-" + "k" * 60,
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "LOG_LEVEL": "WARNING",
    # Two-factor sign-in is required, as in production; the benchmark's sessions are marked as
    # having passed it (as django_otp.login does), so pages are timed as staff see them.
    "REQUIRE_2FA": "true",
}
os.environ.update(BENCH_ENV)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
SCALE_DATABASE_URL = os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://127.0.0.1:5432/clinic_large_300k")
SEARCH_TARGET_MS = 10.0
SLOTS_TARGET_MS = 10.0
# The slot finder for any practitioner: at 20 practitioners, and at 60 (the --scale clinic).
ANY_SLOTS_TARGET_MS = {20: 10.0, 60: 15.0}
# Patient and plan pages: within this many times their floor (the page's own SQL, run directly).
PAGE_MAX_RATIO = 5.0
# Loopback load: requests per second the search and patient pages must sustain, 0 errors; the
# day calendar (a heavier page) this many.
LOAD_TARGET_RPS = 150
CALENDAR_LOAD_TARGET_RPS = 100
NOISY_LOAD = 2.0
# Misspellings the search must forgive (the wanted patient within the first 5 results).
MISSPELLING_TOP = 5
LOT_SEARCH_TARGET_MS = 50.0
CALENDAR_MAX_QUERIES = 10
CALENDAR_MAX_RATIO = 2.0
# The calendar pages are time grids (scheduling/grid.py): their rendering against the SQL floor.
DAY_PAGE_MAX_RATIO = 3.0
WEEK_PAGE_MAX_RATIO = 5.0
# A large clinic (60 practitioners or more): the whole day page within this.
LARGE_DAY_PAGE_MS = 40.0
LARGE_CLINIC_PRACTITIONERS = 60


@dataclass
class Result:
    name: str
    median: float | None = None
    p95: float | None = None
    queries: int | None = None
    floor: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.floor:
            return None
        return self.median / self.floor

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "MISS")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def timed(function: Callable[[], object], *, runs: int, warmup: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds of ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 0.95)


def count_queries(function: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured.captured_queries)


def sql_rows(sql: str, params: list) -> Callable[[], list]:
    from django.db import connection

    def run() -> list:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def replay(function: Callable[[], object]) -> tuple[Callable[[], None], int]:
    """The reads ``function`` sends, as one callable running them directly (no ORM,
    no template): the floor of a page or selector. Writes (the audit row) are left out."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    # A statement prepared once per connection (clinic/prepared.py) is read by its EXECUTE.
    reads = ("SELECT", "EXECUTE")
    statements = [query["sql"] for query in captured.captured_queries if query["sql"].lstrip().startswith(reads)]

    def run() -> None:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                cursor.fetchall()

    return run, len(statements)


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def misspellings(surname: str) -> list[tuple[str, str]]:
    """The fixed slips the search must forgive, made from ``surname`` the same way every run."""
    word = surname.lower()
    middle = len(word) // 2
    swapped = word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
    wrong = word[:middle] + ("e" if word[middle] != "e" else "a") + word[middle + 1 :]
    missing = word[:middle] + word[middle + 1 :]
    return [("two letters swapped", swapped), ("one letter wrong", wrong), ("one letter missing", missing)]


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kib = int(handle.readline().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    # The load average says whether something else was running (figures are then noisier).
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} cores{memory}, {platform.machine()}, Python {platform.python_version()}{load}"


def git_revision() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - developer tool on PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        revision = completed.stdout.strip() or "unknown"
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return f"{revision} with uncommitted changes" if changed else revision
    except OSError:
        return "unknown"


# Setup ------------------------------------------------------------------------------------


def prepare(args) -> None:
    """Create, migrate and (if empty) fill the benchmark database; collect static files."""
    python = sys.executable
    # The children inherit BENCH_ENV: it is in os.environ since the module was imported.
    subprocess.run([python, str(ROOT / "bin" / "ensure_database.py")], check=True)  # noqa: S603
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], check=True)  # noqa: S603
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], check=True)  # noqa: S603
    import django

    django.setup()
    from devdata import large as largedata

    if not largedata.has_generated_data():
        print("No generated clinic in the benchmark database: running seed_large first.")
        subprocess.run(  # noqa: S603
            [
                *manage, "seed_large", "--patients", str(args.patients), "--practitioners",
                str(args.practitioners), "--years", str(args.years),
            ],
            check=True,
        )  # fmt: skip


# The measurements ---------------------------------------------------------------------------


# What a calendar card shows: time, status, patient, room, type and colour, and "session 2 of 5"
# (the plan's session count); the card sits in its practitioner's column (practitioner_id).
CALENDAR_SQL = """
    SELECT a.id, a.starts_at, a.ends_at, a.status, a.practitioner_id, a.patient_id, a.plan_session_number,
           p.first_name, p.last_name, t.name, t.colour, r.name, a.plan_id, pl.session_count
    FROM scheduling_appointment a
    JOIN patients_patient p ON p.id = a.patient_id
    JOIN scheduling_room r ON r.id = a.room_id
    JOIN scheduling_appointmenttype t ON t.id = a.appointment_type_id
    LEFT JOIN treatments_treatmentplan pl ON pl.id = a.plan_id
    WHERE a.starts_at < %s AND a.ends_at > %s AND a.starts_at >= %s {extra}
    ORDER BY a.starts_at, a.id
"""
BUSY_SQL = """
    SELECT practitioner_id, room_id, patient_id, starts_at, ends_at, blocked_until
    FROM scheduling_appointment
    WHERE status <> 'cancelled' AND starts_at < %s AND blocked_until > %s AND starts_at >= %s
"""
LUNCH_BUSY_SQL = """
    SELECT practitioner_id, room_id, patient_id, starts_at, ends_at, blocked_until
    FROM scheduling_appointment WHERE status <> 'cancelled'
"""
# The floors bound the start from below as well (no appointment lasts more than a day: the
# check constraint appointment_shorter_than_a_day), which lets PostgreSQL use the index on
# starts_at and estimate the rows right; "starts before the end and ends after the start"
# alone reads every earlier appointment.
LONGEST = timedelta(days=1)
# The patient search floors: the selector's SQL, written by hand (page of 25 and the count);
# for names, the SQL the selector sends, run directly (the words looked up, the page, the count).
PHONE_PAGE_SQL = """
    SELECT id, first_name, last_name, date_of_birth, phone, email, archived_at
    FROM patients_patient WHERE archived_at IS NULL AND (phone LIKE %s OR phone = %s)
    ORDER BY last_name, first_name, id LIMIT %s
"""
PHONE_COUNT_SQL = "SELECT COUNT(*) FROM patients_patient WHERE archived_at IS NULL AND (phone LIKE %s OR phone = %s)"
EMAIL_PAGE_SQL = """
    SELECT id, first_name, last_name, date_of_birth, phone, email, archived_at
    FROM patients_patient WHERE archived_at IS NULL AND email = %s
    ORDER BY last_name, first_name, id LIMIT %s
"""
EMAIL_COUNT_SQL = "SELECT COUNT(*) FROM patients_patient WHERE archived_at IS NULL AND email = %s"


class Bench:
    def __init__(self, args) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        from devdata import large as largedata
        from scheduling.models import AppointmentType, Practitioner
        from tests.factories import mark_second_factor_verified
        from treatments.models import TreatmentPlan

        self.args = args
        self.results: list[Result] = []
        User = get_user_model()
        self.reception = User.objects.get(username=f"{largedata.USERNAME_PREFIX}reception01")
        self.practitioner = Practitioner.objects.select_related("user").order_by("pk").first()
        self.doctor = self.practitioner.user
        self.consultation_type = AppointmentType.objects.get(name="Consultation")
        self.today = timezone.localdate()
        self.day = self.today + timedelta(days={5: 2, 6: 1}.get(self.today.weekday(), 0))
        self.reception_client = Client()
        self.reception_client.force_login(self.reception)
        mark_second_factor_verified(self.reception_client, self.reception)
        self.doctor_client = Client()
        self.doctor_client.force_login(self.doctor)
        mark_second_factor_verified(self.doctor_client, self.doctor)
        self.plan = (
            TreatmentPlan.objects.filter(status=TreatmentPlan.Status.COMPLETED, doctor=self.doctor)
            .order_by("pk")
            .first()
        )

    def add(self, result: Result) -> Result:
        self.results.append(result)
        parts = [f"{result.name:<46}"]
        if result.median is not None:
            parts.append(f"median {result.median:8.2f} ms  p95 {result.p95:8.2f} ms")
        if result.queries is not None:
            parts.append(f"{result.queries:3d} queries")
        if result.ratio is not None:
            parts.append(f"x{result.ratio:5.1f} floor")
        if result.verdict:
            parts.append(f"{result.verdict} ({result.target})")
        if result.note:
            parts.append(result.note)
        print("  ".join(parts), flush=True)
        return result

    def time(self, name: str, function, *, floor: float | None = None, target: str = "", check=None, runs=None):
        runs = runs or self.args.runs
        queries = count_queries(function)
        median, p95 = timed(function, runs=runs, warmup=self.args.warmup)
        result = Result(name, median, p95, queries, floor, target)
        if check is not None:
            result.passed = check(result)
        return self.add(result)

    def floor(self, name: str, function, *, queries: int = 1) -> float:
        """Time a floor, print it as a row of its own, and return its median."""
        median, p95 = timed(function, runs=self.args.runs, warmup=self.args.warmup)
        self.add(Result(name, median, p95, queries))
        return median

    def page(self, client, url: str, *, name: str, floor=None, target="", check=None, runs=None) -> Result:
        response = client.get(url, secure=True)
        if response.status_code != 200:
            return self.add(Result(name, note=f"not measured: GET {url} answered {response.status_code}"))

        def get():
            client.get(url, secure=True)

        return self.time(name, get, floor=floor, target=target, check=check, runs=runs)

    # Calendars ---------------------------------------------------------------------------

    def calendars(self) -> None:
        from clinic.localtime import day_bounds
        from scheduling import selectors

        start, end = day_bounds(self.day)
        day_sql = sql_rows(CALENDAR_SQL.format(extra=""), [end, start, start - LONGEST])
        floor = self.floor(f"day calendar floor: 1 SQL ({len(day_sql())} appointments)", day_sql)

        def within(result: Result) -> bool:
            return result.queries <= CALENDAR_MAX_QUERIES and result.ratio <= CALENDAR_MAX_RATIO

        self.time(
            "day calendar, all practitioners (selector)",
            lambda: selectors.day_columns(self.day),
            floor=floor,
            target=f"<= {CALENDAR_MAX_QUERIES} queries, <= {CALENDAR_MAX_RATIO:g}x floor",
            check=within,
        )
        # "Whatever the number of appointments": the same count on a Sunday, when nobody works.
        # Both pages are counted as the front desk sees them again and again: after a first look
        # (the grid is then kept until its data changes: scheduling.grid.rendered_day_grid).
        sunday = self.day + timedelta(days=6 - self.day.weekday())
        self.reception_client.get(f"/scheduling/?date={sunday:%Y-%m-%d}", secure=True)
        empty_queries = count_queries(
            lambda: self.reception_client.get(f"/scheduling/?date={sunday:%Y-%m-%d}", secure=True)
        )
        from scheduling.models import Practitioner

        large = Practitioner.objects.active().count() >= LARGE_CLINIC_PRACTITIONERS
        target = f"<= {CALENDAR_MAX_QUERIES} queries, same on an empty day, <= {DAY_PAGE_MAX_RATIO:g}x floor"
        if large:
            target += f", < {LARGE_DAY_PAGE_MS:g} ms"

        def day_page_within(result: Result) -> bool:
            return (
                result.queries <= CALENDAR_MAX_QUERIES
                and result.queries == empty_queries
                and result.ratio <= DAY_PAGE_MAX_RATIO
                and (not large or result.median < LARGE_DAY_PAGE_MS)
            )

        result = self.page(
            self.reception_client,
            f"/scheduling/?date={self.day:%Y-%m-%d}",
            name="day calendar page (receptionist)",
            floor=floor,
            target=target,
            check=day_page_within,
        )
        if result.median is not None:
            result.note = f"{empty_queries} queries on {sunday:%a %d %b} (no appointments)"
            print(f"  (day calendar page: {result.note})")
        # Right after a change to the day (a booking, a move...): the grid built again each time.
        from scheduling import grid

        def rebuilt():
            grid.forget_kept_grids()
            self.reception_client.get(f"/scheduling/?date={self.day:%Y-%m-%d}", secure=True)

        self.time("day calendar page, grid built again (after a change)", rebuilt, floor=floor)
        # What every page pays before its own work (session, user, permissions, middleware, the
        # base template): the same page on a day without appointments, for reading the ratio above.
        self.page(
            self.reception_client,
            f"/scheduling/?date={sunday:%Y-%m-%d}",
            name=f"day calendar page, empty day ({sunday:%a %d %b})",
            floor=floor,
        )
        monday = self.day - timedelta(days=self.day.weekday())
        week_start, _ = day_bounds(monday)
        _, week_end = day_bounds(monday + timedelta(days=6))
        week_sql = CALENDAR_SQL.format(extra="AND a.practitioner_id = %s")
        params = [week_end, week_start, week_start - LONGEST, self.practitioner.pk]
        week_rows = sql_rows(week_sql, params)
        floor = self.floor(f"week view floor: 1 SQL ({len(week_rows())} appointments)", week_rows)
        self.time(
            "week view, one practitioner (selector)",
            lambda: selectors.week_days(self.practitioner, monday),
            floor=floor,
        )
        self.page(
            self.reception_client,
            f"/scheduling/week/{self.practitioner.pk}/?date={self.day:%Y-%m-%d}",
            name="week view page (receptionist)",
            floor=floor,
            target=f"<= {CALENDAR_MAX_QUERIES} queries, <= {WEEK_PAGE_MAX_RATIO:g}x floor",
            check=lambda result: result.queries <= CALENDAR_MAX_QUERIES and result.ratio <= WEEK_PAGE_MAX_RATIO,
        )
        # As the day: the week's grid is kept until its data changes (scheduling.grid.rendered_week_grid).
        week_url = f"/scheduling/week/{self.practitioner.pk}/?date={self.day:%Y-%m-%d}"

        def week_rebuilt():
            grid.forget_kept_grids()
            self.reception_client.get(week_url, secure=True)

        self.time("week view page, grid built again (after a change)", week_rebuilt, floor=floor)

    # Slot finder --------------------------------------------------------------------------

    def slot_finder(self) -> None:
        from clinic.localtime import day_bounds, days, local_datetime
        from scheduling import availability

        date_to = self.today + timedelta(days=14)
        first, _ = day_bounds(self.today)
        _, last = day_bounds(date_to)
        # The one-practitioner finder reads its practitioner's and room's busy times over the
        # range (Availability widens it by a day on each side). The any-practitioner finder reads
        # day by day, only what is in the way of each day's lunchtime, and stops once it has its
        # slots: its floor is everyone's busy rows at lunchtime on every day of the range (what
        # it would read if it found nothing until the last day).
        bounds = [last + timedelta(days=1), first - timedelta(days=1), first - timedelta(days=1) - LONGEST]
        one_sql = sql_rows(
            BUSY_SQL + " AND (practitioner_id = %s OR room_id = %s)",
            [*bounds, self.practitioner.pk, self.practitioner.default_room_id],
        )
        one_floor = self.floor(f"slot finder floor, one practitioner: 1 SQL ({len(one_sql())} rows)", one_sql)
        lunch_start, lunch_end = availability.lunchtime()
        lunchtimes, params = [], []
        for day in days(self.today, date_to):
            start, end = local_datetime(day, lunch_start), local_datetime(day, lunch_end)
            lunchtimes.append("(starts_at < %s AND blocked_until > %s AND starts_at >= %s)")
            params += [end, start, start - LONGEST]
        lunch_sql = f"{LUNCH_BUSY_SQL} AND ({' OR '.join(lunchtimes)})"
        any_sql = sql_rows(lunch_sql, params)
        any_floor = self.floor(
            f"slot finder floor, any practitioner: 1 SQL, lunchtimes of {len(lunchtimes)} days ({len(any_sql())} rows)",
            any_sql,
        )

        def find(practitioner):
            def run():
                return availability.find_slots(
                    appointment_type=self.consultation_type,
                    date_from=self.today,
                    date_to=date_to,
                    practitioner=practitioner,
                )

            return run

        found = len(find(self.practitioner)())
        self.time(
            f"slot finder 14 days lunch, one practitioner ({found} slots)",
            find(self.practitioner),
            floor=one_floor,
            target=f"< {SLOTS_TARGET_MS:g} ms",
            check=lambda result: result.median < SLOTS_TARGET_MS,
        )
        found = len(find(None)())
        practitioners = len(availability.active_practitioners())
        target_ms = ANY_SLOTS_TARGET_MS[min(ANY_SLOTS_TARGET_MS, key=lambda size: abs(size - practitioners))]
        self.time(
            f"slot finder 14 days lunch, any practitioner ({found} slots, {practitioners} practitioners)",
            find(None),
            floor=any_floor,
            target=f"< {target_ms:g} ms",
            check=lambda result: result.median < target_ms,
        )
        query = (
            f"appointment_type={self.consultation_type.pk}&practitioner={self.practitioner.pk}"
            f"&date_from={self.today:%Y-%m-%d}&date_to={date_to:%Y-%m-%d}&window=lunch"
        )
        self.page(self.reception_client, f"/scheduling/find/?{query}", name="slot finder page, one practitioner")

    # Search -------------------------------------------------------------------------------

    def search(self) -> None:
        from django.core.paginator import Paginator
        from django.db.models import Count

        from patients.models import Patient
        from patients.selectors import patient_search

        page_size = 25

        def first_page(query):
            def run():
                page = Paginator(patient_search(query), page_size).get_page(1)
                return list(page), page.paginator.count

            return run

        def common_surname(pattern: str) -> str:
            return (
                Patient.objects.values("last_name")
                .annotate(n=Count("id"))
                .filter(last_name__regex=pattern)
                .order_by("-n", "last_name")
                .values_list("last_name", flat=True)
                .first()
            )

        # The most common long surname and the most common short one, each misspelt three ways.
        for surname in (common_surname(r"^[A-Za-z]{8,}$"), common_surname(r"^[A-Za-z]{4,5}$")):
            for slip, typo in misspellings(surname):
                rows, total = first_page(typo)()
                # A double-barrelled "Carreno-Gordillo" is a Gordillo too.
                hits = [surname.lower() in re.split(r"[ .-]+", patient.last_name.lower()) for patient in rows]
                position = next((index for index, hit in enumerate(hits, 1) if hit), None)
                right = sum(hits)
                floor_run, statements = replay(first_page(typo))
                floor = self.floor(f"search floor ('{typo}'): the selector's SQL, {statements} SQL", floor_run,
                                   queries=statements)  # fmt: skip
                where = f"first {surname} at {position}" if position else f"no {surname} in the first {len(rows)}"
                self.time(
                    f"search '{typo}' for {surname} ({slip}; {total} found, {right} of the first {len(rows)} right)",
                    first_page(typo),
                    floor=floor,
                    target=f"within the first {MISSPELLING_TOP}, median < {SEARCH_TARGET_MS:g} ms",
                    check=lambda result, position=position: (
                        bool(position) and position <= MISSPELLING_TOP and result.median < SEARCH_TARGET_MS
                    ),
                )
                self.results[-1].note = where
        someone = Patient.objects.exclude(phone="").exclude(email="").order_by("pk")[500]
        national = "0" + someone.phone[3:]
        phone_query = f"{national[:5]} {national[5:]}"
        email_query = someone.email.upper()
        digits = national.lstrip("0")
        floors = {
            "phone": (
                PHONE_PAGE_SQL, [f"%{digits}%", someone.phone, page_size], PHONE_COUNT_SQL,
                [f"%{digits}%", someone.phone],
            ),
            "email": (EMAIL_PAGE_SQL, [someone.email, page_size], EMAIL_COUNT_SQL, [someone.email]),
        }  # fmt: skip
        queries = {
            "phone": (phone_query, f"phone '{phone_query}'"),
            "email": (email_query, "email (upper case)"),
        }
        for kind, (query, label) in queries.items():
            page_sql, page_params, count_sql, count_params = floors[kind]
            page_rows, count_rows = sql_rows(page_sql, page_params), sql_rows(count_sql, count_params)

            def floor_both(page_rows=page_rows, count_rows=count_rows):
                count_rows()
                page_rows()

            floor = self.floor(f"search floor ({kind}): page + count, 2 SQL", floor_both, queries=2)
            rows, total = first_page(query)()
            self.time(
                f"search by {label} ({total} found)",
                first_page(query),
                floor=floor,
                target=f"median < {SEARCH_TARGET_MS:g} ms",
                check=lambda result: result.median < SEARCH_TARGET_MS,
            )
        typo = misspellings(common_surname(r"^[A-Za-z]{8,}$"))[0][1]
        self.page(
            self.reception_client,
            f"/patients/?q={urllib.request.quote(typo)}",
            name=f"search page, '{typo}' (receptionist)",
        )

    # Clinical pages -----------------------------------------------------------------------

    def clinical_pages(self) -> None:
        if self.plan is None:
            self.add(Result("patient page / plan page", note="not measured: no completed plan for the doctor"))
            return
        pages = {"patient page": f"/patients/{self.plan.patient_id}/", "plan page": self.plan.get_absolute_url()}
        for name, url in pages.items():
            floor_run, statements = replay(lambda url=url: self.doctor_client.get(url, secure=True))
            label = f"{name} floor: its {statements} reads run directly, as it sends them"
            floor = self.floor(label, floor_run, queries=statements)
            self.page(
                self.doctor_client,
                url,
                name=f"{name} (doctor)",
                floor=floor,
                target=f"<= {PAGE_MAX_RATIO:g}x floor",
                check=lambda result: result.ratio <= PAGE_MAX_RATIO,
            )

    # Lot traceability ---------------------------------------------------------------------

    def lot_search(self) -> None:
        """Who got lot X: the busiest batch of the clinic (every course of its cocktail used it),
        the lot number typed in lower case; the selector and the whole page as a doctor."""
        from django.db.models import Count

        from treatments import selectors
        from treatments.models import Batch

        batch = Batch.objects.annotate(uses=Count("usages")).order_by("-uses", "pk").first()
        if batch is None or not batch.uses:
            self.add(Result("who got lot X", note="not measured: no batch was used"))
            return
        query = batch.lot_number.lower()

        def search():
            return selectors.lot_search(query)

        hits = search()
        label = f"{hits[0].sessions} sessions"
        self.time(
            f"who got lot X ({label}), selector",
            search,
            target=f"median < {LOT_SEARCH_TARGET_MS:g} ms",
            check=lambda result: result.median < LOT_SEARCH_TARGET_MS,
        )
        self.page(
            self.doctor_client,
            f"/treatments/formulary/lots/?q={urllib.request.quote(query)}",
            name="who got lot X, page (doctor)",
            target=f"median < {LOT_SEARCH_TARGET_MS:g} ms",
            check=lambda result: result.median < LOT_SEARCH_TARGET_MS,
        )

    # Booking ------------------------------------------------------------------------------

    def free_slots(self, count: int):
        """``count`` free, mutually compatible consultation slots 3-6 weeks ahead, with patients."""
        from clinic.localtime import day_bounds
        from patients.models import Patient
        from scheduling import availability
        from scheduling.models import Appointment

        candidates = availability.find_slots(
            appointment_type=self.consultation_type,
            date_from=self.today + timedelta(days=21),
            date_to=self.today + timedelta(days=42),
            window_start=datetime.min.time(),
            window_end=datetime.max.time().replace(microsecond=0, second=0),
            limit=count * 20,
        )
        chosen, taken = [], []
        for slot in candidates:
            if any(
                slot.starts_at < end
                and start < slot.ends_at
                and (practitioner == slot.practitioner or room == slot.room)
                for start, end, practitioner, room in taken
            ):
                continue
            chosen.append(slot)
            taken.append((slot.starts_at, slot.ends_at, slot.practitioner, slot.room))
            if len(chosen) == count:
                break
        busy = Appointment.objects.filter(starts_at__gte=day_bounds(self.today + timedelta(days=20))[0]).values(
            "patient_id"
        )
        patients = list(Patient.objects.active().exclude(pk__in=busy).order_by("pk")[: len(chosen)])
        return list(zip(chosen, patients, strict=False))

    def booking(self) -> list[int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        runs = self.args.bookings
        pairs = self.free_slots(runs + self.args.warmup)
        created: list[int] = []
        times, queries = [], []
        for index, (slot, patient) in enumerate(pairs):
            data = {
                "patient": patient.pk,
                "practitioner": slot.practitioner.pk,
                "appointment_type": self.consultation_type.pk,
                "room": slot.room.pk,
                "start": slot.starts_at.astimezone(UTC).isoformat(),
                "notes": "",
            }
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = self.reception_client.post("/scheduling/book/", data, secure=True)
                elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 302:
                self.add(Result("booking through the form", note=f"not measured: POST answered {response.status_code}"))
                return created
            created.append(int(response["Location"].rstrip("/").split("/")[-1]))
            if index >= self.args.warmup:
                times.append(elapsed)
                queries.append(len(captured.captured_queries))
        if times:
            result = Result(
                f"booking through form + service ({len(times)} bookings)",
                statistics.median(times),
                percentile(times, 0.95),
                max(queries),
            )
            self.add(result)
        return created

    def race(self) -> list[int]:
        """20 threads book the same slot at once for 20 different patients."""
        from django.core.exceptions import ValidationError
        from django.db import connection

        from scheduling import services

        pairs = self.free_slots(self.args.threads)
        if not pairs:
            self.add(Result("20 threads, same slot", note="not measured: no free slot"))
            return []
        slot = pairs[0][0]
        patients = [patient for _, patient in pairs]
        barrier = threading.Barrier(len(patients))
        outcomes: list[str] = []
        created: list[int] = []
        lock = threading.Lock()

        def attempt(patient):
            try:
                barrier.wait()
                appointment = services.appointment_book(
                    patient=patient, practitioner=slot.practitioner, appointment_type=self.consultation_type,
                    starts_at=slot.starts_at, room=slot.room, booked_by=self.reception,
                )  # fmt: skip
                outcome = "success"
                with lock:
                    created.append(appointment.pk)
            except ValidationError:
                outcome = "refused"
            except Exception as error:  # anything but a refusal is the failure being counted
                outcome = f"error: {type(error).__name__}: {error}"
            finally:
                connection.close()
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=attempt, args=(patient,)) for patient in patients]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = (time.perf_counter() - started) * 1000
        successes = outcomes.count("success")
        errors = [outcome for outcome in outcomes if outcome.startswith("error")]
        result = Result(
            f"{len(patients)} threads book the same slot",
            target="exactly 1 success, 0 errors",
            passed=successes == 1 and not errors,
            note=f"{successes} success, {outcomes.count('refused')} refused, {len(errors)} errors, {elapsed:.0f} ms"
            + (f" ({errors[0]})" if errors else ""),
        )
        self.add(result)
        return created

    def remove(self, appointment_ids: list[int]) -> None:
        from messaging.models import ScheduledMessage
        from scheduling.models import Appointment, AppointmentChange

        if not appointment_ids:
            return
        ScheduledMessage.objects.filter(subject_ref__in=[f"appointment:{pk}" for pk in appointment_ids]).delete()
        AppointmentChange.objects.filter(appointment_id__in=appointment_ids).delete()
        Appointment.objects.filter(pk__in=appointment_ids).delete()

    # Gunicorn -----------------------------------------------------------------------------

    def load(self) -> None:
        from django.conf import settings

        from tests.messaging.realworld import free_port

        seconds, clients = self.args.load_seconds, self.args.clients
        port = free_port()
        workers = 2 * (os.cpu_count() or 1) + 1
        log = ROOT / "var" / "bench-gunicorn.log"
        log.parent.mkdir(exist_ok=True)
        command = [
            str(Path(sys.executable).with_name("gunicorn")), "clinic.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "sync", "--access-logfile", "-", "--log-level", "warning",
        ]  # fmt: skip
        with log.open("w") as handle:
            server = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603
        try:

            def headers_of(client) -> dict:
                cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
                return {"Cookie": cookie, "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}

            headers = headers_of(self.reception_client)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    login = urllib.request.Request(f"{base}/accounts/login/", headers=headers)  # noqa: S310
                    urllib.request.urlopen(login, timeout=5)  # noqa: S310 - our own loopback server
                    break
                # OSError: refused while gunicorn starts, or timed out on a busy machine.
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline or server.poll() is not None:
                        self.add(Result("gunicorn load", note=f"not measured: gunicorn did not start (see {log})"))
                        return
                    time.sleep(0.2)
            from patients.models import Patient

            names = list(Patient.objects.order_by("?").values_list("last_name", flat=True)[:40])
            patients = list(Patient.objects.order_by("?").values_list("pk", flat=True)[:40])
            urls = {
                "calendar": ([f"/scheduling/?date={self.day:%Y-%m-%d}"], headers, CALENDAR_LOAD_TARGET_RPS),
                "search": (
                    [f"/patients/?q={urllib.request.quote(name[:5].lower())}" for name in names], headers,
                    LOAD_TARGET_RPS,
                ),
                "patient": ([f"/patients/{pk}/" for pk in patients], headers_of(self.doctor_client), LOAD_TARGET_RPS),
            }  # fmt: skip
            for label, (paths, page_headers, target_rps) in urls.items():
                self.hammer(
                    label, base, paths, page_headers, seconds=seconds, clients=clients, workers=workers,
                    target_rps=target_rps,
                )  # fmt: skip
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()

    def hammer(self, label, base, paths, headers, *, seconds, clients, workers, target_rps=None) -> None:
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client(number: int):
            index = number
            while time.monotonic() < stop_at:
                path = paths[index % len(paths)]
                index += clients
                request = urllib.request.Request(base + path, headers=headers)  # noqa: S310
                started = time.perf_counter()
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                        response.read()
                        status = response.status
                except urllib.error.HTTPError as error:
                    status = error.code
                except (urllib.error.URLError, OSError) as error:
                    status = f"{type(error).__name__}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if status == 200:
                        latencies.append(elapsed)
                    else:
                        errors.append(str(status))

        threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        load = load_average() or 0.0
        rate = len(latencies) / elapsed if elapsed else 0.0
        result = Result(
            f"gunicorn {label} page, {clients} clients, {seconds:g} s",
            statistics.median(latencies) if latencies else None,
            percentile(latencies, 0.95) if latencies else None,
            target=f">= {target_rps} req/s, 0 errors" if target_rps else "0 errors",
            passed=not errors and (target_rps is None or rate >= target_rps),
            note=f"{rate:.0f} req/s, {len(errors)} errors ({workers} sync workers, load average {load:.1f})"
            + (f", e.g. {errors[0]}" if errors else ""),
        )
        self.add(result)


# Report ----------------------------------------------------------------------------------------


def load_note(loads: tuple[float | None, float | None]) -> str:
    """The load average before and after the run, and whether that makes the figures noisy."""
    before, after = loads
    if before is None or after is None:
        return "Load average: unknown."
    text = f"Load average {before:.1f} at the start, {after:.1f} at the end"
    if max(before, after) > NOISY_LOAD:
        return f"{text}: **noisy run (load above {NOISY_LOAD:g} on this machine's cores)**."
    return f"{text}."


def report(
    bench: Bench, *, started: datetime, dataset: str, machine_text: str, loads: tuple[float | None, float | None]
) -> str:
    def number(value: float | None, digits: int = 2) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    noisy = " (noisy: load above 2)" if None not in loads and max(loads) > NOISY_LOAD else ""
    lines = [
        f"### {started:%Y-%m-%d %H:%M} UTC, revision {git_revision()}{noisy}",
        "",
        f"Dataset: {dataset}. Machine: {machine_text} (at the start). Settings: DEBUG=false, PostgreSQL on loopback.",
        "",
        load_note(loads),
        "",
        "| measure | median ms | p95 ms | queries | floor ms | x floor | target | result | notes |",
        "|---|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for result in bench.results:
        lines.append(
            f"| {result.name} | {number(result.median)} | {number(result.p95)} | "
            f"{'' if result.queries is None else result.queries} | {number(result.floor)} | "
            f"{number(result.ratio, 1)} | {result.target} | {result.verdict} | {result.note} |"
        )
    return "\n".join(lines) + "\n"


SECTION = "## Clinic (tests/perf/bench_clinic.py)"
OUTBOX_TABLE = "| date | benchmark | size | result | correctness | machine |"
OUTBOX_HEADING = "## Outbox delivery (tests/perf/bench_outbox.py)"


def write_report(text: str) -> Path:
    """Add the run under the clinic section, newest last. The outbox script appends its rows to
    the end of the file, so its table is kept last."""
    path = ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    if path.exists():
        content = path.read_text()
    else:
        content = (
            "# Benchmarks\n\nFigures printed by the scripts under tests/perf/, newest last.\n\n"
            f"{OUTBOX_TABLE}\n|---|---|---|---|---|---|\n"
        )
    if SECTION not in content:
        intro = (
            f"{SECTION}\n\nTargets (issue 6, on 100,000 patients): day calendar at most 10 queries and within "
            "2x its floor (one hand-written SQL query for the same rows); 14-day slot finder for one practitioner "
            "under 10 ms; patient search median under 10 ms (floor: the same indexed SQL run directly); zero "
            "errors under the loopback load. Selector rows time the data access the page uses; page rows "
            "time the whole request through Django's test client.\n\n"
        )
        if OUTBOX_TABLE in content:
            before, after = content.split(OUTBOX_TABLE, 1)
            if OUTBOX_HEADING not in before:
                after = OUTBOX_TABLE + after
                content = before + intro + f"{OUTBOX_HEADING}\n\n" + after
            else:
                head, heading_tail = before.split(OUTBOX_HEADING, 1)
                content = head + intro + OUTBOX_HEADING + heading_tail + OUTBOX_TABLE + after
        else:
            content = content.rstrip("\n") + "\n\n" + intro
    # Insert this run at the end of the clinic section (before the next "## " heading).
    start = content.index(SECTION)
    next_heading = content.find("\n## ", start + len(SECTION))
    if next_heading == -1:
        content = content.rstrip("\n") + "\n\n" + text
    else:
        content = content[:next_heading].rstrip("\n") + "\n\n" + text + "\n" + content[next_heading + 1 :]
    path.write_text(content)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # A page's figures are of a page served again and again, as a web worker serves it: with 50
    # runs after 5 warm-up calls, the medians of the calendar pages varied up to 1.7x from one
    # run of the benchmark to the next on this machine; with 100 after 20, about 10%.
    parser.add_argument("--runs", type=int, default=100, help="timed runs per measure (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--bookings", type=int, default=20, help="bookings timed through the form")
    parser.add_argument("--threads", type=int, default=20, help="threads racing for one slot")
    parser.add_argument("--clients", type=int, default=10, help="concurrent HTTP clients for the load test")
    parser.add_argument("--load-seconds", type=float, default=20, help="length of each load test")
    parser.add_argument("--no-load", action="store_true", help="skip the gunicorn load test")
    parser.add_argument("--no-write", action="store_true", help="print only, do not touch docs/benchmarks.md")
    parser.add_argument("--patients", type=int, default=100_000, help="size for seed_large if the database is empty")
    parser.add_argument("--practitioners", type=int, default=20)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument(
        "--scale",
        action="store_true",
        help="then run again on a 300,000-patient, 60-practitioner clinic (BENCH_SCALE_DATABASE_URL, built if empty)",
    )
    parser.add_argument("--calendars-only", action="store_true", help="time the calendar pages only")
    args = parser.parse_args()
    if min(args.runs, args.bookings, args.threads, args.clients) < 1 or args.warmup < 0 or args.load_seconds <= 0:
        parser.error("counts must be at least 1 and --load-seconds positive")

    status = run(args)
    if args.scale:
        # A process of its own: the database is chosen when the module is imported.
        passed = [arg for arg in sys.argv[1:] if arg != "--scale"]
        for option in ("--patients", "--practitioners"):
            if option in passed:
                index = passed.index(option)
                del passed[index : index + 2]
        command = [sys.executable, __file__, *passed, "--patients", "300000", "--practitioners", "60"]
        environment = {**os.environ, "BENCH_DATABASE_URL": SCALE_DATABASE_URL}
        print(f"\n--scale: the same measures on {SCALE_DATABASE_URL}\n", flush=True)
        status = subprocess.run(command, env=environment, check=False).returncode or status  # noqa: S603
    return status


def run(args) -> int:
    load_before = load_average()
    prepare(args)
    from clinic.celery import app as celery_app

    # Booking emails are handed to Celery after commit: keep them in memory, not in a Redis
    # some worker may be reading. The outbox rows are written as in production.
    celery_app.conf.broker_url = "memory://localhost/"
    from patients.models import Patient
    from scheduling.models import Appointment, Practitioner

    started = datetime.now(UTC)
    dataset = (
        f"{Patient.objects.count():,} patients, {Practitioner.objects.count()} practitioners, "
        f"{Appointment.objects.count():,} appointments"
    )
    print(f"Benchmark database {DATABASE_URL}: {dataset}")
    machine_text = machine()
    print(f"Machine: {machine_text}")
    bench = Bench(args)
    created: list[int] = []
    try:
        bench.calendars()
        if args.calendars_only:
            return finish(
                bench, args, started=started, dataset=dataset, machine_text=machine_text, load_before=load_before
            )
        bench.slot_finder()
        bench.search()
        bench.clinical_pages()
        bench.lot_search()
        created += bench.booking()
        created += bench.race()
        if not args.no_load:
            bench.load()
    finally:
        bench.remove(created)
    return finish(bench, args, started=started, dataset=dataset, machine_text=machine_text, load_before=load_before)


def finish(bench: Bench, args, *, started: datetime, dataset: str, machine_text: str, load_before) -> int:
    misses = [result.name for result in bench.results if result.passed is False]
    print()
    print("All targets met." if not misses else f"Targets missed: {'; '.join(misses)}")
    loads = (load_before, load_average())
    print(load_note(loads))
    if not args.no_write:
        text = report(bench, started=started, dataset=dataset, machine_text=machine_text, loads=loads)
        path = write_report(text)
        print(f"Results appended to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
