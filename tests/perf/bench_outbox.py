"""Benchmark (not a test): how many due reminders one Celery worker delivers per second to a
local SMTP sink, with duplicates and losses counted; and how long a booking and a six-session
course take with the broker up, stopped, and hung (accepting connections, never answering).

    .venv/bin/python tests/perf/bench_outbox.py --messages 10000
    .venv/bin/python tests/perf/bench_outbox.py --latency-only

Uses its own database (BENCH_DATABASE_URL, default postgres://127.0.0.1:5432/clinic_bench),
its own Redis server on a free port and an in-process SMTP sink; nothing else is touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://127.0.0.1:5432/clinic_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
# This process only queues rows and reads results: development settings (the worker runs production ones).
os.environ.setdefault("DEBUG", "true")
BENCH_NOTE = "outbox benchmark"
# Processes of the one worker, as bin/run and docs/deploy/clinic-worker.service start it.
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1200, help="give up after this many seconds")
    parser.add_argument("--bookings", type=int, default=30, help="bookings timed per broker state")
    parser.add_argument("--latency-only", action="store_true", help="only the booking latency with the broker down")
    args = parser.parse_args()
    if args.messages < 1:
        parser.error("--messages must be at least 1")

    import subprocess

    subprocess.run([sys.executable, str(ROOT / "bin" / "ensure_database.py")], check=True)  # noqa: S603
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    latency_ok = booking_latency(args.bookings)
    if args.latency_only:
        return 0 if latency_ok else 1
    from django.contrib.auth import get_user_model

    from clinic.celery import app as celery_app
    from messaging import services
    from messaging.models import ScheduledMessage
    from patients.models import Patient
    from scheduling.models import Appointment, AppointmentType, Practitioner, Room
    from scheduling.services import reminder_key
    from tests.messaging.realworld import CeleryWorker, RedisServer, SmtpSink

    User = get_user_model()

    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 120
    ScheduledMessage.objects.all().delete()
    Appointment.objects.filter(notes=BENCH_NOTE).delete()
    Patient.objects.filter(last_name="Benchmark").delete()
    patients = Patient.objects.bulk_create(
        Patient(
            first_name=f"P{n}", last_name="Benchmark", date_of_birth="1980-01-01", sex="female",
            email=f"p{n}@bench.example", reminder_emails_consent=True,
        )
        for n in range(args.messages)
    )  # fmt: skip
    user, _ = User.objects.get_or_create(
        username="bench_doctor", defaults={"first_name": "Bench", "last_name": "Doctor"}
    )
    practitioner, _ = Practitioner.objects.get_or_create(user=user)
    room, _ = Room.objects.get_or_create(name="Benchmark room")
    kind = AppointmentType.objects.get(name="Review")
    # One real appointment per reminder, back to back from tomorrow on: the reminder builder
    # loads it, renders its .ics and signed links, as in production.
    first = timezone.now().replace(microsecond=0) + timedelta(days=1)
    appointments = Appointment.objects.bulk_create(
        Appointment(
            patient=patient, practitioner=practitioner, room=room, appointment_type=kind,
            starts_at=first + n * kind.duration, ends_at=first + (n + 1) * kind.duration,
            blocked_until=first + (n + 1) * kind.duration, notes=BENCH_NOTE,
        )
        for n, patient in enumerate(patients)
    )  # fmt: skip
    now = timezone.now()
    ScheduledMessage.objects.bulk_create(
        ScheduledMessage(
            kind=ScheduledMessage.Kind.APPOINTMENT_REMINDER, patient_id=appointment.patient_id,
            subject_ref=appointment.subject_ref, dedupe_key=reminder_key(appointment), due_at=now,
        )
        for appointment in appointments
    )  # fmt: skip

    redis = RedisServer()
    redis.start()
    celery_app.conf.broker_url = redis.url
    with SmtpSink() as sink:
        log = ROOT / "var" / "bench-worker.log"
        log.parent.mkdir(exist_ok=True)
        worker = CeleryWorker(
            database_url=os.environ["DATABASE_URL"], redis_url=redis.url, smtp_port=sink.port, log_path=log,
            concurrency=WORKER_CONCURRENCY,
        )  # fmt: skip
        worker.env["DEBUG"] = "false"
        worker.env["SECRET_KEY"] = "bench-" + "x" * 60
        worker.env["ALLOWED_HOSTS"] = "localhost"
        worker.env["DATABASE_CONN_MAX_AGE"] = "60"  # as deployed: a worker keeps its connection
        worker.start()
        started = time.monotonic()
        worker_cpu_before, own_cpu_before = process_group_cpu(worker.process.pid), time.process_time()
        try:
            while time.monotonic() - started < args.timeout:
                services.messages_claim_due(limit=2000)
                open_rows = ScheduledMessage.objects.filter(
                    status__in=[ScheduledMessage.Status.PENDING, ScheduledMessage.Status.SENDING]
                ).count()
                if open_rows == 0:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            worker_cpu = process_group_cpu(worker.process.pid) - worker_cpu_before
            own_cpu = time.process_time() - own_cpu_before
        finally:
            worker.stop()
            redis.stop()
        sent = ScheduledMessage.objects.filter(status=ScheduledMessage.Status.SENT).count()
        ids = sink.handler.message_ids()
    duplicates = len(ids) - len(set(ids))
    lost = args.messages - len(set(ids))
    rate = sent / elapsed if elapsed else 0.0
    print(f"messages queued      {args.messages}")
    print(f"sent (rows)          {sent}")
    print(f"received by the sink {len(ids)}")
    print(f"duplicates           {duplicates}")
    print(f"lost                 {lost}")
    print(f"elapsed              {elapsed:.1f} s")
    print(f"throughput           {rate:.0f} messages/s (one worker, concurrency {WORKER_CONCURRENCY})")
    # On a shared machine the rate follows the other work; the CPU each message costs does not.
    load = os.getloadavg()[0]
    worker_ms = worker_cpu * 1000 / max(sent, 1)
    print(f"worker CPU           {worker_ms:.2f} ms/message (all its processes)")
    print(f"sink and dispatch    {own_cpu * 1000 / max(sent, 1):.2f} ms/message (this process)")
    print(f"load average         {load:.1f} at the end ({os.cpu_count()} cores)")
    report = ROOT / "docs" / "benchmarks.md"
    report.parent.mkdir(exist_ok=True)
    line = (
        f"| {datetime.now(UTC):%Y-%m-%d} | outbox delivery | {args.messages} reminders | {rate:.0f} msg/s | "
        f"duplicates {duplicates}, lost {lost} | {os.cpu_count()} cores, {platform.machine()}, load {load:.1f}, "
        f"worker CPU {worker_ms:.1f} ms/msg |\n"
    )
    if not report.exists():
        report.write_text(
            "# Benchmarks\n\nFigures printed by the scripts under tests/perf/, newest last.\n\n"
            "| date | benchmark | size | result | correctness | machine |\n|---|---|---|---|---|---|\n"
        )
    with report.open("a") as handle:
        handle.write(line)
    return 0 if duplicates == 0 and lost == 0 and latency_ok else 1


def process_group_cpu(group: int) -> float:
    """CPU seconds used so far by the live processes of a process group (the worker and its
    pool, started in a session of their own), from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group:  # pgrp; utime and stime are the 12th and 13th after the name
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


LATENCY_MARGIN_MS = 500


def booking_latency(count: int) -> bool:
    """Book ``count`` single appointments and one six-session course with Celery's broker up,
    stopped (a closed port) and hung (a socket that accepts and never answers); print p50/p95
    and PASS when the broker's state costs a booking less than LATENCY_MARGIN_MS."""
    import statistics
    from datetime import time as clock_time

    from django.utils import timezone

    from clinic.celery import app as celery_app
    from clinic.localtime import local_datetime
    from scheduling import services as scheduling
    from tests.factories import PatientFactory, ReceptionistFactory
    from tests.messaging.realworld import FrozenServer, RedisServer, free_port
    from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type
    from tests.treatments.factories import ActivePlanFactory

    def point_at(url: str) -> None:
        celery_app.conf.broker_url = url
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    from tests.factories import UserFactory
    from tests.treatments.factories import BatchFactory, IngredientFactory, ProductFactory

    # The benchmark database outlives a run: start the factories' names where no run has been.
    base = int(time.time())
    for factory_class in (UserFactory, RoomFactory, ProductFactory, IngredientFactory, BatchFactory):
        factory_class.reset_sequence(base)
    mesotherapy = appointment_type("Mesotherapy session")
    booked_by = ReceptionistFactory()
    # A fresh stretch each run, within the two-year booking range.
    start_day = timezone.localdate() + timedelta(days=30 + int(time.time()) % 600)

    def weekday(offset: int):
        """The offset-th working day from start_day."""
        day = start_day
        while day.weekday() >= 5 or offset > 0:
            offset -= day.weekday() < 5
            day += timedelta(days=1)
        return day

    def run(label: str) -> tuple[list[float], float]:
        practitioner = PractitionerFactory(default_room=RoomFactory())
        timings = []
        for n in range(count):
            at = local_datetime(weekday(n // 2), clock_time(12 + n % 2))  # 12:00 and 13:00, an hour each
            started = time.perf_counter()
            scheduling.appointment_book(
                patient=PatientFactory(), practitioner=practitioner, appointment_type=mesotherapy,
                starts_at=at, booked_by=booked_by,
            )  # fmt: skip
            timings.append((time.perf_counter() - started) * 1000)
        plan = ActivePlanFactory(session_count=6)
        first = weekday(count // 2 + 7)
        started = time.perf_counter()
        scheduling.course_book(
            plan=plan, practitioner=practitioner, appointment_type=mesotherapy, booked_by=booked_by,
            sessions=[(k, local_datetime(first + timedelta(weeks=k - 1), clock_time(13)), None) for k in range(1, 7)],
        )  # fmt: skip
        return timings, (time.perf_counter() - started) * 1000

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]

    original = celery_app.conf.broker_url
    results: dict[str, tuple[list[float], float]] = {}
    redis = RedisServer()
    redis.start()
    try:
        point_at(redis.url)
        results["broker up"] = run("broker up")
    finally:
        redis.stop()
    point_at(f"redis://127.0.0.1:{free_port()}/0")
    results["broker stopped"] = run("broker stopped")
    with FrozenServer() as frozen:
        point_at(frozen.url)
        results["broker hung"] = run("broker hung")
    point_at(original)

    normal_p95, normal_course = p95(results["broker up"][0]), results["broker up"][1]
    ok = True
    report = ROOT / "docs" / "benchmarks.md"
    lines = []
    print(f"booking latency ({count} bookings and one 6-session course per broker state)")
    for label, (timings, course_ms) in results.items():
        within = p95(timings) - normal_p95 < LATENCY_MARGIN_MS and course_ms - normal_course < LATENCY_MARGIN_MS
        ok &= within
        verdict = "PASS" if within else "MISS"
        print(
            f"  {label:<15} booking p50 {statistics.median(timings):6.1f} ms  p95 {p95(timings):6.1f} ms  "
            f"course {course_ms:6.1f} ms  {verdict} (within {LATENCY_MARGIN_MS} ms of broker up)"
        )
        lines.append(
            f"| {datetime.now(UTC):%Y-%m-%d} | booking with {label} | {count} bookings + 6-session course | "
            f"p95 {p95(timings):.0f} ms, course {course_ms:.0f} ms | {verdict} "
            f"(< {LATENCY_MARGIN_MS} ms over broker up) | {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} |\n"
        )
    with report.open("a") as handle:
        handle.writelines(lines)
    return ok


if __name__ == "__main__":
    sys.exit(main())
