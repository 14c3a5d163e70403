"""Reads: availability, the slot finder, course proposals and the calendar pages.

Availability loads everything a time range needs in a fixed number of queries (working
hours, time off, closures, appointments) and answers in memory, so the slot finder and the
calendars cost the same number of queries whatever the number of appointments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import localtime

from clinic.localtime import day_bounds, days, local_instants
from scheduling.models import (
    LONGEST_APPOINTMENT,
    Appointment,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    TimeOff,
    WorkingHours,
)

SLOT_STEP = timedelta(minutes=15)
ALTERNATIVE_SEARCH_DAYS = 3
Interval = tuple[datetime, datetime]


def _overlaps(start: datetime, end: datetime, intervals: Iterable[Interval]) -> bool:
    return any(other_start < end and start < other_end for other_start, other_end in intervals)


@dataclass(frozen=True)
class Slot:
    practitioner: Practitioner
    room: Room
    starts_at: datetime
    ends_at: datetime

    @property
    def local_start(self) -> datetime:
        return localtime(self.starts_at)

    @property
    def local_end(self) -> datetime:
        return localtime(self.ends_at)

    @property
    def iso_start(self) -> str:
        return self.starts_at.astimezone(UTC).isoformat()


@dataclass
class Availability:
    """Who and what is free between ``start`` and ``end``.

    ``exclude_appointment_id`` leaves one appointment out (the one being moved).
    """

    start: datetime
    end: datetime
    patient_id: int | None = None
    exclude_appointment_id: int | None = None
    # Load only these practitioners' appointments (None: everyone's), and of the rooms only
    # these; the other rooms' appointments are loaded the first time one is asked about.
    practitioner_ids: Sequence[int] | None = None
    room_ids: Sequence[int] = ()
    hours: dict[int, dict[int, list[tuple[time, time]]]] = field(init=False)
    time_off: dict[int, list[tuple[datetime, datetime, str]]] = field(init=False)
    closures: list[tuple[datetime, datetime, str]] = field(init=False)
    practitioner_busy: dict[int, list[Interval]] = field(init=False)
    room_busy: dict[int, list[Interval]] = field(init=False)
    patient_busy: list[Interval] = field(init=False)

    def __post_init__(self) -> None:
        # Widen by a day: an appointment's buffer or a time off may straddle the edges.
        start, end = self.start - timedelta(days=1), self.end + timedelta(days=1)
        self.hours = defaultdict(lambda: defaultdict(list))
        for practitioner_id, weekday, starts_at, ends_at in WorkingHours.objects.values_list(
            "practitioner_id", "weekday", "starts_at", "ends_at"
        ):
            self.hours[practitioner_id][weekday].append((starts_at, ends_at))
        self.time_off = defaultdict(list)
        for practitioner_id, starts_at, ends_at, reason in TimeOff.objects.filter(
            starts_at__lt=end, ends_at__gt=start
        ).values_list("practitioner_id", "starts_at", "ends_at", "reason"):
            self.time_off[practitioner_id].append((starts_at, ends_at, reason))
        self.closures = list(
            ClinicClosure.objects.filter(starts_at__lt=end, ends_at__gt=start).values_list(
                "starts_at", "ends_at", "reason"
            )
        )
        self.practitioner_busy = defaultdict(list)
        self.room_busy = defaultdict(list)
        self.patient_busy = []
        self._all_rooms = self.practitioner_ids is None
        wanted = Q()
        if self.practitioner_ids is not None:
            wanted = Q(practitioner_id__in=self.practitioner_ids) | Q(room_id__in=self.room_ids)
            if self.patient_id is not None:
                wanted |= Q(patient_id=self.patient_id)
        for practitioner_id, room_id, patient_id, starts_at, ends_at, blocked_until in self._appointments(wanted):
            self.practitioner_busy[practitioner_id].append((starts_at, blocked_until))
            self.room_busy[room_id].append((starts_at, blocked_until))
            if patient_id == self.patient_id:
                self.patient_busy.append((starts_at, ends_at))

    def _appointments(self, condition: Q):
        start, end = self.start - timedelta(days=1), self.end + timedelta(days=1)
        return (
            Appointment.objects.live()
            .overlapping(start, end)
            .filter(condition)
            .exclude(pk=self.exclude_appointment_id)
            .values_list("practitioner_id", "room_id", "patient_id", "starts_at", "ends_at", "blocked_until")
        )

    def _load_all_rooms(self) -> None:
        self._all_rooms = True
        self.room_busy = defaultdict(list)
        for _, room_id, _, starts_at, _, blocked_until in self._appointments(Q()):
            self.room_busy[room_id].append((starts_at, blocked_until))

    def practitioner_problem(
        self, practitioner: Practitioner, starts_at: datetime, ends_at: datetime, blocked_until: datetime
    ) -> str:
        """Why ``practitioner`` cannot see a patient then, or "" when they can."""
        absence = self.practitioner_absence(practitioner, starts_at, ends_at)
        if absence:
            return absence
        if self.practitioner_is_busy(practitioner, starts_at, blocked_until):
            return f"{practitioner.name} already has an appointment at this time."
        return ""

    def practitioner_is_busy(self, practitioner: Practitioner, starts_at: datetime, blocked_until: datetime) -> bool:
        return _overlaps(starts_at, blocked_until, self.practitioner_busy.get(practitioner.pk, []))

    def practitioner_absence(self, practitioner: Practitioner, starts_at: datetime, ends_at: datetime) -> str:
        """Why ``practitioner`` does not work then (hours, closure, time off), or ""."""
        name = practitioner.name
        local_start, local_end = localtime(starts_at), localtime(ends_at)
        shifts = self.hours.get(practitioner.pk, {}).get(local_start.weekday(), [])
        if not shifts:
            return f"{name} does not work on {local_start:%A}s."
        if local_end.date() != local_start.date() or not any(
            shift_start <= local_start.time() and local_end.time() <= shift_end for shift_start, shift_end in shifts
        ):
            hours = ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in sorted(shifts))
            return f"This is outside {name}'s working hours on {local_start:%A}s ({hours})."
        for closure_start, closure_end, reason in self.closures:
            if closure_start < ends_at and starts_at < closure_end:
                return f"The clinic is closed then{f' ({reason})' if reason else ''}."
        for off_start, off_end, reason in self.time_off.get(practitioner.pk, []):
            if off_start < ends_at and starts_at < off_end:
                return f"{name} is away then{f' ({reason})' if reason else ''}."
        return ""

    def room_is_free(self, room: Room, starts_at: datetime, blocked_until: datetime) -> bool:
        if not self._all_rooms and room.pk not in self.room_ids:
            self._load_all_rooms()
        return not _overlaps(starts_at, blocked_until, self.room_busy.get(room.pk, []))

    def patient_is_free(self, starts_at: datetime, ends_at: datetime) -> bool:
        return not _overlaps(starts_at, ends_at, self.patient_busy)

    def free_room(
        self, rooms: Sequence[Room], starts_at: datetime, blocked_until: datetime, prefer: Room | None = None
    ) -> Room | None:
        ordered = ([prefer] if prefer is not None else []) + [room for room in rooms if room != prefer]
        return next((room for room in ordered if self.room_is_free(room, starts_at, blocked_until)), None)

    def book(self, slot: Slot, blocked_until: datetime) -> None:
        """Count ``slot`` as taken (for proposals of several appointments at once)."""
        self.practitioner_busy[slot.practitioner.pk].append((slot.starts_at, blocked_until))
        self.room_busy[slot.room.pk].append((slot.starts_at, blocked_until))
        self.patient_busy.append((slot.starts_at, slot.ends_at))


def active_rooms() -> list[Room]:
    return list(Room.objects.filter(is_active=True))


def active_practitioners() -> list[Practitioner]:
    return list(Practitioner.objects.active().select_related("user", "default_room"))


def lunchtime() -> tuple[time, time]:
    return settings.CLINIC_LUNCH_START, settings.CLINIC_LUNCH_END


def _candidate_starts(day: date, window_start: time, window_end: time) -> list[datetime]:
    """Every SLOT_STEP of local wall-clock time in the window on ``day``, as UTC instants.

    Times skipped by the clocks going forward are not offered; times that happen twice
    when they go back are offered twice (each occurrence is a real, different instant).
    """
    starts = []
    cursor = datetime.combine(day, window_start)
    end = datetime.combine(day, window_end)
    first, last = local_instants(day, window_start), local_instants(day, window_end)
    if len(first) == 1 and len(last) == 1 and last[0] - first[0] == end - cursor:
        # The usual day: the clocks do not change inside the window, so every step is the
        # first instant plus a whole number of steps (no zone arithmetic per step).
        steps = -((cursor - end) // SLOT_STEP)
        return [first[0] + SLOT_STEP * index for index in range(steps)]
    while cursor < end:
        starts.extend(local_instants(day, cursor.time()))
        cursor += SLOT_STEP
    return starts


def find_slots(
    *,
    appointment_type: AppointmentType,
    date_from: date,
    date_to: date,
    window_start: time | None = None,
    window_end: time | None = None,
    practitioner: Practitioner | None = None,
    patient=None,
    exclude_appointment: Appointment | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> list[Slot]:
    """Free slots for ``appointment_type``, soonest first (lunchtime by default)."""
    default_start, default_end = lunchtime()
    window_start, window_end = window_start or default_start, window_end or default_end
    now = now or timezone.now()
    practitioners = [practitioner] if practitioner is not None else active_practitioners()
    rooms = active_rooms()
    if not practitioners or not rooms or date_to < date_from:
        return []
    first, _ = day_bounds(date_from)
    _, last = day_bounds(date_to)
    availability = Availability(
        start=first,
        end=last,
        patient_id=getattr(patient, "pk", None),
        exclude_appointment_id=getattr(exclude_appointment, "pk", None),
        practitioner_ids=None if practitioner is None else [practitioner.pk],
        room_ids=(practitioner.default_room_id,) if practitioner is not None and practitioner.default_room_id else (),
    )
    slots: list[Slot] = []
    for day in days(date_from, date_to):
        for starts_at in _candidate_starts(day, window_start, window_end):
            if starts_at <= now:
                continue
            ends_at = starts_at + appointment_type.duration
            blocked_until = ends_at + appointment_type.buffer
            local_end = localtime(ends_at)
            if local_end.date() != day or local_end.time() > window_end:
                continue
            if patient is not None and not availability.patient_is_free(starts_at, ends_at):
                continue
            for candidate in practitioners:
                if availability.practitioner_problem(candidate, starts_at, ends_at, blocked_until):
                    continue
                room = availability.free_room(rooms, starts_at, blocked_until, prefer=candidate.default_room)
                if room is not None:
                    slots.append(Slot(candidate, room, starts_at, ends_at))
                    if len(slots) >= limit:
                        return slots
    return slots


@dataclass
class ProposedSession:
    number: int
    wanted_at: datetime | None
    slot: Slot | None
    conflict: str = ""

    @property
    def is_alternative(self) -> bool:
        return bool(self.conflict) and self.slot is not None


def _problems(
    availability: Availability,
    *,
    practitioner: Practitioner,
    rooms: Sequence[Room],
    starts_at: datetime,
    appointment_type: AppointmentType,
    now: datetime,
) -> tuple[str, Room | None]:
    ends_at = starts_at + appointment_type.duration
    blocked_until = ends_at + appointment_type.buffer
    if starts_at <= now:
        return "This time is in the past.", None
    problem = availability.practitioner_problem(practitioner, starts_at, ends_at, blocked_until)
    if problem:
        return problem, None
    if not availability.patient_is_free(starts_at, ends_at):
        return "The patient already has an appointment at this time.", None
    room = availability.free_room(rooms, starts_at, blocked_until, prefer=practitioner.default_room)
    if room is None:
        return "No room is free at this time.", None
    return "", room


def _nearest_alternative(
    availability: Availability,
    *,
    practitioner: Practitioner,
    rooms: Sequence[Room],
    wanted_at: datetime,
    appointment_type: AppointmentType,
    now: datetime,
) -> Slot | None:
    wanted_day = localtime(wanted_at).date()
    best: Slot | None = None
    for offset in range(-ALTERNATIVE_SEARCH_DAYS, ALTERNATIVE_SEARCH_DAYS + 1):
        day = wanted_day + timedelta(days=offset)
        for starts_at in _candidate_starts(day, time(0, 0), time(23, 45)):
            if best is not None and abs(starts_at - wanted_at) >= abs(best.starts_at - wanted_at):
                continue
            problem, room = _problems(
                availability,
                practitioner=practitioner,
                rooms=rooms,
                starts_at=starts_at,
                appointment_type=appointment_type,
                now=now,
            )
            if not problem:
                best = Slot(practitioner, room, starts_at, starts_at + appointment_type.duration)
    return best


def course_proposal(
    *,
    plan,
    practitioner: Practitioner,
    appointment_type: AppointmentType,
    first_day: date,
    at: time,
    now: datetime | None = None,
) -> list[ProposedSession]:
    """The plan's sessions not booked yet, a week apart at the same local weekday and time.

    A week that is taken gets the nearest free time of the same practitioner (within three
    days) and says why the wanted time was not possible.
    """
    from treatments.models import SESSION_INTERVAL

    now = now or timezone.now()
    booked = set(plan.appointments.live().values_list("plan_session_number", flat=True))
    numbers = [number for number in range(1, plan.session_count + 1) if number not in booked]
    if not numbers:
        return []
    rooms = active_rooms()
    last_day = first_day + SESSION_INTERVAL * (len(numbers) - 1)
    start, _ = day_bounds(first_day - timedelta(days=ALTERNATIVE_SEARCH_DAYS))
    _, end = day_bounds(last_day + timedelta(days=ALTERNATIVE_SEARCH_DAYS))
    availability = Availability(start=start, end=end, patient_id=plan.patient_id)
    proposal = []
    for index, number in enumerate(numbers):
        day = first_day + SESSION_INTERVAL * index
        instants = local_instants(day, at)
        if not instants:
            wanted_at, problem, room = None, f"{at:%H:%M} does not exist on {day:%d %b} (the clocks go forward).", None
        else:
            wanted_at = instants[0]
            problem, room = _problems(
                availability,
                practitioner=practitioner,
                rooms=rooms,
                starts_at=wanted_at,
                appointment_type=appointment_type,
                now=now,
            )
        if not problem:
            slot = Slot(practitioner, room, wanted_at, wanted_at + appointment_type.duration)
        else:
            reference = wanted_at or instants_or_noon(day)
            slot = _nearest_alternative(
                availability,
                practitioner=practitioner,
                rooms=rooms,
                wanted_at=reference,
                appointment_type=appointment_type,
                now=now,
            )
        if slot is not None:
            availability.book(slot, slot.ends_at + appointment_type.buffer)
        proposal.append(ProposedSession(number=number, wanted_at=wanted_at, slot=slot, conflict=problem))
    return proposal


def instants_or_noon(day: date) -> datetime:
    return local_instants(day, time(12, 0))[0]


# Calendar pages -------------------------------------------------------------------------


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
DAY_CALENDAR_SQL = """
    SELECT pr.id, u.first_name, u.last_name, u.username,
           a.id, a.starts_at, a.ends_at, a.status, a.practitioner_id, a.patient_id, a.plan_session_number,
           p.first_name, p.last_name, t.name, t.colour, r.name, a.plan_id, pl.session_count
    FROM scheduling_practitioner pr
    JOIN auth_user u ON u.id = pr.user_id
    LEFT JOIN (
        scheduling_appointment a
        JOIN patients_patient p ON p.id = a.patient_id
        JOIN scheduling_room r ON r.id = a.room_id
        JOIN scheduling_appointmenttype t ON t.id = a.appointment_type_id
        LEFT JOIN treatments_treatmentplan pl ON pl.id = a.plan_id
    ) ON a.practitioner_id = pr.id AND a.starts_at < %(end)s AND a.ends_at > %(start)s AND a.starts_at >= %(lower)s
    WHERE (pr.is_active AND u.is_active) OR a.id IS NOT NULL
    ORDER BY u.last_name, u.first_name, pr.id, a.starts_at, a.id
"""


def day_columns(day: date) -> list[DayColumn]:
    """One column per active practitioner (and any other with appointments that day)."""
    start, end = day_bounds(day)
    columns: list[DayColumn] = []
    with connection.cursor() as cursor:
        cursor.execute(DAY_CALENDAR_SQL, {"start": start, "end": end, "lower": start - LONGEST_APPOINTMENT})
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
    start, _ = day_bounds(monday)
    _, end = day_bounds(monday + timedelta(days=6))
    by_day: dict[date, list[CalendarEntry]] = defaultdict(list)
    for appointment in calendar_entries(start, end, practitioner=practitioner):
        by_day[localtime(appointment.starts_at).date()].append(appointment)
    return [WeekDay(day, by_day.get(day, [])) for day in days(monday, monday + timedelta(days=6))]


def patient_upcoming(patient, *, limit: int = 10) -> list[Appointment]:
    return list(
        Appointment.objects.for_calendar()
        .filter(patient=patient)
        .filter(Q(starts_at__gte=timezone.now() - timedelta(hours=12)))
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("starts_at")[:limit]
    )


def plan_appointments(plan) -> list[Appointment]:
    """The appointments booked for a treatment plan's sessions, in order (cancelled ones left out)."""
    return list(
        Appointment.objects.live().filter(plan=plan).select_related("practitioner__user").order_by("starts_at", "id")
    )


def plans_to_book(patient) -> list:
    """The patient's open treatment plans with sessions not booked yet."""
    from django.db.models import Count

    from treatments.models import TreatmentPlan

    plans = (
        TreatmentPlan.objects.open()
        .filter(patient=patient)
        .annotate(booked=Count("appointments", filter=~Q(appointments__status=Appointment.Status.CANCELLED)))
        .only("id", "session_count", "patient_id")
        .order_by("id")
    )
    return [plan for plan in plans if plan.booked < plan.session_count]
