"""Benchmark (not a test): how many due reminders one Celery worker delivers per second to a
local SMTP sink, with duplicates and losses counted.

    .venv/bin/python tests/perf/bench_outbox.py --messages 10000

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1200, help="give up after this many seconds")
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
            database_url=os.environ["DATABASE_URL"], redis_url=redis.url, smtp_port=sink.port, log_path=log
        )
        worker.env["DEBUG"] = "false"
        worker.env["SECRET_KEY"] = "bench-" + "x" * 60
        worker.env["ALLOWED_HOSTS"] = "localhost"
        worker.start()
        started = time.monotonic()
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
    print(f"throughput           {rate:.0f} messages/s (one worker, concurrency 2)")
    report = ROOT / "docs" / "benchmarks.md"
    report.parent.mkdir(exist_ok=True)
    line = (
        f"| {datetime.now(UTC):%Y-%m-%d} | outbox delivery | {args.messages} reminders | {rate:.0f} msg/s | "
        f"duplicates {duplicates}, lost {lost} | {os.cpu_count()} cores, {platform.machine()} |\n"
    )
    if not report.exists():
        report.write_text(
            "# Benchmarks\n\nFigures printed by the scripts under tests/perf/, newest last.\n\n"
            "| date | benchmark | size | result | correctness | machine |\n|---|---|---|---|---|---|\n"
        )
    with report.open("a") as handle:
        handle.write(line)
    return 0 if duplicates == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
