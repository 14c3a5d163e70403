"""Reads for the calendar pages: the day's columns, a practitioner's week, a patient's
upcoming appointments and their plans still to book.

The calendars read rows (CalendarEntry), not model instances, in a fixed number of queries
whatever the number of appointments; the day calendar is one statement. Who is free when (the
slot finder, course proposals) is scheduling/availability.py.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import localtime

from clinic import dateformats
from clinic.localtime import day_bounds, days
from clinic.prepared import PreparedStatement
from clinic.rows import link_maker
from scheduling.models import Appointment, Practitioner, earliest_start_running_at


def appointments_between(start: datetime, end: datetime, *, practitioner: Practitioner | None = None):
    appointments = Appointment.objects.for_calendar().during(start, end)
    if practitioner is not None:
        appointments = appointments.filter(practitioner=practitioner)
    return appointments.order_by("starts_at", "id")


@dataclass(frozen=True, slots=True)
class CardPart:
    """What a calendar card shows of a related record (patient, type, room, plan)."""

    name: str = ""
    colour: str = ""
    full_name: str = ""
    session_count: int | None = None


@dataclass(slots=True)
class CalendarEntry:
    """One appointment as the calendars show it. Read with values_list rather than as model
    instances: a day of 200 appointments with their patient, practitioner, user, room, type and
    plan is 1,400 model instances, 20+ ms; these rows cost about as much as the SQL itself.
    The attribute paths are the model's, so templates read either."""

    pk: int
    starts_at: datetime
    ends_at: datetime
    status: str
    practitioner_id: int
    patient_id: int
    plan_session_number: int | None
    patient: CardPart
    appointment_type: CardPart
    room: CardPart
    plan: CardPart | None

    FIELDS = (
        "pk", "starts_at", "ends_at", "status", "practitioner_id", "patient_id", "plan_session_number",
        "patient__first_name", "patient__last_name", "appointment_type__name", "appointment_type__colour",
        "room__name", "plan_id", "plan__session_count",
    )  # fmt: skip

    @classmethod
    def from_row(cls, row) -> CalendarEntry:
        pk, starts_at, ends_at, status, practitioner_id, patient_id, number, first, last, type_name, colour = row[:11]
        room_name, plan_id, session_count = row[11:]
        return cls(
            pk, starts_at, ends_at, status, practitioner_id, patient_id, number,
            CardPart(full_name=f"{first} {last}"), CardPart(name=type_name, colour=colour), CardPart(name=room_name),
            None if plan_id is None else CardPart(session_count=session_count),
        )  # fmt: skip

    @property
    def id(self) -> int:
        return self.pk

    def get_absolute_url(self) -> str:
        return reverse("scheduling:appointment_detail", args=[self.pk])

    def get_status_display(self) -> str:
        return Appointment.Status(self.status).label

    @property
    def is_open(self) -> bool:
        return self.status in Appointment.OPEN_STATUSES


def calendar_entries(start: datetime, end: datetime, *, practitioner: Practitioner | None = None):
    rows = Appointment.objects.during(start, end)
    if practitioner is not None:
        rows = rows.filter(practitioner=practitioner)
    return [CalendarEntry.from_row(row) for row in rows.order_by("starts_at", "id").values_list(*CalendarEntry.FIELDS)]


@dataclass(frozen=True, slots=True)
class ColumnHead:
    """The practitioner at the head of a day column: what the column shows of them."""

    pk: int
    name: str


@dataclass
class DayColumn:
    practitioner: ColumnHead
    appointments: list[CalendarEntry]


# The front desk's most used page in one statement: every practitioner who takes appointments,
# or has some that day, each with the day's appointments (LEFT JOIN: an empty column still
# shows). Its columns after the practitioner's are CalendarEntry.FIELDS, in that order. Two
# ORM queries (practitioners, then appointments) cost twice the round trips and the per-row
# work of the ORM: docs/benchmarks.md has the figures.
# Prepared once per connection (clinic/prepared.py), with one plan for every day: the patient
# and the plan are looked up by id for each appointment (a lateral lookup and a subquery), so
# that plan never becomes a hash of the whole patient or plan table, however large they grow.
DAY_CALENDAR = PreparedStatement(
    "day_calendar",
    """
    SELECT pr.id, u.first_name, u.last_name, u.username,
           a.id, a.starts_at, a.ends_at, a.status, a.practitioner_id, a.patient_id, a.plan_session_number,
           p.first_name, p.last_name, t.name, t.colour, r.name, a.plan_id,
           (SELECT pl.session_count FROM treatments_treatmentplan pl WHERE pl.id = a.plan_id)
    FROM scheduling_practitioner pr
    JOIN auth_user u ON u.id = pr.user_id
    LEFT JOIN (
        scheduling_appointment a
        CROSS JOIN LATERAL (SELECT first_name, last_name FROM patients_patient WHERE id = a.patient_id OFFSET 0) p
        JOIN scheduling_room r ON r.id = a.room_id
        JOIN scheduling_appointmenttype t ON t.id = a.appointment_type_id
    ) ON a.practitioner_id = pr.id AND a.starts_at < %(end)s AND a.ends_at > %(start)s AND a.starts_at >= %(lower)s
    WHERE (pr.is_active AND u.is_active) OR a.id IS NOT NULL
    ORDER BY u.last_name, u.first_name, pr.id, a.starts_at, a.id
""",
)


def day_columns(day: date) -> list[DayColumn]:
    """One column per active practitioner (and any other with appointments that day)."""
    start, end = day_bounds(day)
    columns: list[DayColumn] = []
    with connection.cursor() as cursor:
        DAY_CALENDAR.execute(cursor, {"start": start, "end": end, "lower": earliest_start_running_at(start)})
        for practitioner_id, first_name, last_name, username, *appointment in cursor.fetchall():
            if not columns or columns[-1].practitioner.pk != practitioner_id:
                name = f"{first_name} {last_name}".strip() or username
                columns.append(DayColumn(ColumnHead(practitioner_id, name), []))
            if appointment[0] is not None:
                columns[-1].appointments.append(CalendarEntry.from_row(appointment))
    return columns


@dataclass
class WeekDay:
    day: date
    appointments: list[CalendarEntry]


def week_days(practitioner: Practitioner, monday: date) -> list[WeekDay]:
    # The last week Python has is cut short at 9999-12-31 rather than overflow.
    sunday = monday + timedelta(days=min(6, (date.max - monday).days))
    start, _ = day_bounds(monday)
    _, end = day_bounds(sunday)
    by_day: dict[date, list[CalendarEntry]] = defaultdict(list)
    for appointment in calendar_entries(start, end, practitioner=practitioner):
        by_day[localtime(appointment.starts_at).date()].append(appointment)
    return [WeekDay(day, by_day.get(day, [])) for day in days(monday, sunday)]


@dataclass(frozen=True)
class PlanAppointment:
    """A booked session of a treatment plan as its page lists it: read as a row, with its link
    and its date written out (the page shows every booking of the course)."""

    pk: int
    starts_at: datetime
    status: str
    plan_session_number: int | None
    practitioner_name: str
    url: str
    starts: str  # |date:"D d M Y, H:i" in local time

    def get_status_display(self) -> str:
        # As the model's get_status_display: the stored value if it is not a known status.
        return str(dict(Appointment.Status.choices).get(self.status, self.status))


# The plan's live appointments (cancelled ones left out) and who gives each, in order.
PLAN_APPOINTMENTS_SQL = """
    SELECT a.id, a.starts_at, a.status, a.plan_session_number, u.first_name, u.last_name, u.username
      FROM scheduling_appointment a
      JOIN scheduling_practitioner pr ON pr.id = a.practitioner_id
      JOIN auth_user u ON u.id = pr.user_id
     WHERE a.plan_id = %s AND a.status <> %s
     ORDER BY a.starts_at, a.id
"""


def plan_appointments(plan) -> list[PlanAppointment]:
    """The appointments booked for a treatment plan's sessions, in order (cancelled ones left out)."""
    with connection.cursor() as cursor:
        cursor.execute(PLAN_APPOINTMENTS_SQL, [plan.pk, Appointment.Status.CANCELLED.value])
        rows = cursor.fetchall()
    if not rows:
        return []
    link = link_maker("scheduling:appointment_detail")
    dates = dateformats.Dates()
    return [
        PlanAppointment(
            pk=pk,
            starts_at=starts_at,
            status=status,
            plan_session_number=number,
            # Practitioner.name: the user's full name, else the username.
            practitioner_name=f"{first_name} {last_name}".strip() or username,
            url=link(pk),
            starts=dates.weekday_day_month_year_time(starts_at),
        )
        for pk, starts_at, status, number, first_name, last_name, username in rows
    ]


@dataclass(frozen=True)
class PatientAppointment:
    """An upcoming appointment as the patient's page shows it."""

    url: str
    starts_at: datetime
    when: str  # as |date:"D d M Y, H:i" shows it
    status: str
    type_name: str
    type_colour: str
    practitioner: str
    plan_session_number: int | None


@dataclass(frozen=True)
class PlanToBook:
    """An open treatment plan with sessions still to book: ``given`` (sessions signed),
    ``booked`` (held by a live appointment) and ``to_book`` (the others, as
    availability.sessions_to_book counts them). Only what booking needs, never the plan's
    clinical content."""

    pk: int
    session_count: int
    given: int
    booked: int
    to_book: int


_PATIENT_APPOINTMENTS = PreparedStatement(
    "patient_appointments",
    """
SELECT a.id, a.starts_at, a.status, a.plan_session_number, t.name, t.colour, u.first_name, u.last_name, u.username
  FROM scheduling_appointment a
  JOIN scheduling_practitioner p ON p.id = a.practitioner_id
  JOIN auth_user u ON u.id = p.user_id
  JOIN scheduling_appointmenttype t ON t.id = a.appointment_type_id
 WHERE a.patient_id = %(patient)s AND a.starts_at >= %(since)s AND a.status <> %(cancelled)s
 ORDER BY a.starts_at
 LIMIT %(limit)s
""",
)
# Each open plan with the numbers of its signed sessions and of its sessions held by a live
# appointment. (A statement each: combined, PostgreSQL takes longer to plan them.)
_PLANS_TO_BOOK = PreparedStatement(
    "plans_to_book",
    """
SELECT pl.id, pl.session_count,
       ARRAY(SELECT s.number FROM treatments_treatmentsession s WHERE s.plan_id = pl.id AND s.status = %(signed)s),
       ARRAY(SELECT b.plan_session_number FROM scheduling_appointment b
              WHERE b.plan_id = pl.id AND b.status <> %(cancelled)s AND b.plan_session_number IS NOT NULL)
  FROM treatments_treatmentplan pl
 WHERE pl.patient_id = %(patient)s AND pl.status = ANY(%(open)s)
 ORDER BY pl.id
""",
)


def patient_panel(patient, *, with_plans: bool, limit: int = 10) -> tuple[list[PatientAppointment], list[PlanToBook]]:
    """The patient page's appointments panel in written-out statements: the next ``limit``
    appointments (not cancelled, from 12 hours ago) with their type and practitioner, and,
    ``with_plans`` (for who may book), the open plans with sessions still to book
    (PlanToBook), by plan id."""
    from treatments.models import TreatmentPlan, TreatmentSession

    params = {
        "patient": patient.pk,
        "since": timezone.now() - timedelta(hours=12),
        "cancelled": Appointment.Status.CANCELLED,
        "limit": limit,
        "signed": TreatmentSession.Status.SIGNED,
        "open": [TreatmentPlan.Status.PROPOSED, TreatmentPlan.Status.ACTIVE],
    }
    with connection.cursor() as cursor:
        _PATIENT_APPOINTMENTS.execute(cursor, params)
        appointment_rows = cursor.fetchall()
        plan_rows = []
        if with_plans:
            _PLANS_TO_BOOK.execute(cursor, params)
            plan_rows = cursor.fetchall()
    appointments: list[PatientAppointment] = []
    if appointment_rows:
        link = link_maker("scheduling:appointment_detail")
        dates = dateformats.Dates()
        for pk, starts_at, status, number, type_name, colour, first, last, username in appointment_rows:
            full_name = f"{first} {last}".strip()  # as User.get_full_name
            when = dates.weekday_day_month_year_time(starts_at)
            appointments.append(
                PatientAppointment(link(pk), starts_at, when, status, type_name, colour, full_name or username, number)
            )
    plans: list[PlanToBook] = []
    for pk, count, signed, booked in plan_rows:
        signed, booked = set(signed), set(booked)
        to_book = count - len(signed | booked)
        if to_book > 0:
            plans.append(PlanToBook(pk, count, len(signed), len(booked - signed), to_book))
    return appointments, plans
