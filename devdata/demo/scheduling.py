"""Demo data for scheduling: rooms, practitioners for the demo doctors with their working
hours, appointments from last week to three weeks ahead (some at lunchtime; the past ones
completed or missed, the future ones with their reminders in the outbox), and a booked course
for a demo treatment plan. Running it again changes nothing."""

from __future__ import annotations

import random
from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clinic.localtime import local_datetime
from patients.models import Patient
from scheduling import availability, services
from scheduling.models import Appointment, AppointmentChange, AppointmentType, Practitioner, Room, WorkingHours

ROOMS = ["Treatment room 1", "Treatment room 2", "Consultation room"]
PRACTITIONERS = [("doctor", "#6f42c1", "Treatment room 1"), ("doctor2", "#d63384", "Treatment room 2")]
DAY_START, DAY_END = time(9, 0), time(18, 0)
TIMES = [time(9, 30), time(10, 30), time(11, 15), time(12, 0), time(12, 45), time(13, 15), time(15, 0), time(16, 30)]
DEMO_WEEKS = 3


def _setup() -> list[Practitioner]:
    rooms = {name: Room.objects.get_or_create(name=name)[0] for name in ROOMS}
    practitioners = []
    User = get_user_model()
    for username, colour, room_name in PRACTITIONERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        practitioner, created = Practitioner.objects.get_or_create(
            user=user, defaults={"colour": colour, "default_room": rooms[room_name]}
        )
        if created:
            WorkingHours.objects.bulk_create(
                WorkingHours(practitioner=practitioner, weekday=day, starts_at=DAY_START, ends_at=DAY_END)
                for day in range(5)
            )
        practitioners.append(practitioner)
    return practitioners


def _appointments(practitioners: list[Practitioner], rng: random.Random) -> int:
    if Appointment.objects.exists():
        return 0
    patients = list(Patient.objects.active().order_by("id")[:120])
    types = list(AppointmentType.objects.filter(is_active=True))
    if not patients or not types:
        return 0
    booked_by = get_user_model().objects.filter(username="reception").first()
    now = timezone.now()
    today = timezone.localdate()
    rows = []
    for offset in range(-7, DEMO_WEEKS * 7):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        day_patients = rng.sample(patients, min(len(patients), len(TIMES) * len(practitioners)))
        for column, practitioner in enumerate(practitioners):
            busy_until = local_datetime(day, DAY_START)
            for slot, at in enumerate(sorted(rng.sample(TIMES, 4))):
                appointment_type = rng.choice(types)
                starts_at = local_datetime(day, at, fold=0)
                if starts_at < busy_until or starts_at <= now < starts_at + appointment_type.duration:
                    continue  # in the previous appointment's time and buffer, or under way now
                if starts_at < now:
                    status = Appointment.Status.NO_SHOW if rng.random() < 0.1 else Appointment.Status.COMPLETED
                else:
                    status = Appointment.Status.CONFIRMED if rng.random() < 0.4 else Appointment.Status.BOOKED
                ends_at = starts_at + appointment_type.duration
                busy_until = ends_at + appointment_type.buffer
                rows.append(
                    Appointment(
                        patient=day_patients[column * len(TIMES) + slot], practitioner=practitioner,
                        room=practitioner.default_room, appointment_type=appointment_type, starts_at=starts_at,
                        ends_at=ends_at, blocked_until=ends_at + appointment_type.buffer, booked_by=booked_by,
                        status=status,
                    )
                )  # fmt: skip
    created = Appointment.objects.bulk_create(rows)
    AppointmentChange.objects.bulk_create(
        AppointmentChange(
            appointment=appointment, action=AppointmentChange.Action.BOOKED, changed_by=booked_by,
            to_status=appointment.status, new_starts_at=appointment.starts_at,
            new_practitioner=appointment.practitioner,
        )
        for appointment in created
    )  # fmt: skip
    for appointment in created:
        if appointment.starts_at > now:
            services.schedule_reminder(appointment, now=now)
    return len(created)


def _course(practitioners: list[Practitioner]) -> int:
    """Book the sessions of one demo plan that has none yet, if the treatments demo made one."""
    try:
        from treatments.models import TreatmentPlan
    except ImportError:
        return 0
    course_type = AppointmentType.objects.filter(is_course_session=True, is_active=True).first()
    by_user = {p.user_id: p for p in practitioners}
    plan = (
        TreatmentPlan.objects.open()
        .filter(doctor_id__in=by_user, patient__archived_at__isnull=True)
        .exclude(appointments__isnull=False)
        .select_related("patient")
        .order_by("id")
        .first()
    )
    if plan is None or course_type is None:
        return 0
    first_day = timezone.localdate() + timedelta(days=1)
    while first_day.weekday() >= 5:
        first_day += timedelta(days=1)
    proposal = availability.course_proposal(
        plan=plan, practitioner=by_user[plan.doctor_id], appointment_type=course_type, first_day=first_day,
        at=time(12, 30),
    )  # fmt: skip
    sessions = [(p.number, p.slot.starts_at, p.slot.room) for p in proposal if p.slot is not None]
    if len(sessions) != len(proposal) or not sessions:
        return 0
    booked = services.course_book(
        plan=plan, practitioner=by_user[plan.doctor_id], appointment_type=course_type, sessions=sessions,
        booked_by=get_user_model().objects.filter(username="reception").first(),
    )  # fmt: skip
    return len(booked)


@transaction.atomic
def seed_demo_data(*, stdout) -> None:
    rng = random.Random(20261126)  # noqa: S311 - demo data, not security
    practitioners = _setup()
    if not practitioners:
        stdout.write("Scheduling: no demo doctors, nothing to do.")
        return
    created = _appointments(practitioners, rng)
    sessions = _course(practitioners)
    stdout.write(f"Scheduling: {len(practitioners)} practitioners, {created} appointments, {sessions} course sessions.")
