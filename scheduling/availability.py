"""The availability engine: who and what is free when, the slot finder and course proposals,
and the one wording of why a time cannot be booked.

Availability loads everything a time range needs in a fixed number of queries (working
hours, time off, closures, appointments) and answers in memory, so the slot finder costs the
same number of queries whatever the number of appointments. The booking and moving services
ask it too (scheduling/services.py), and refuse with the same messages it gives. The slot
finder for any practitioner reads everyone's appointments a stretch of days at a time, of each
day only those in the way of the times it offers (lunchtime), and stops once it has its slots:
weeks of everyone's busy times would be the biggest read there is.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.timezone import localtime

from clinic.localtime import day_bounds, days, local_instants
from clinic.rows import columns, split_row
from scheduling.models import (
    Appointment,
    AppointmentType,
    Practitioner,
    Room,
    earliest_start_running_at,
)

SLOT_STEP = timedelta(minutes=15)
ALTERNATIVE_SEARCH_DAYS = 3
Interval = tuple[datetime, datetime]

# Written out rather than built by the ORM: the slot finder runs these on every search, and
# compiling them cost more than running them.
# Everyone's working hours (in no order: a day's shifts are only searched, and sorted to be
# shown), then the time off and the closures overlapping [start, end), each in order of start
# (the first one in the way is the reason given). The first column says which a row is.
RULES_SQL = """
    SELECT 0, practitioner_id, weekday, starts_at, ends_at, NULL::timestamptz, NULL::timestamptz, ''
    FROM "scheduling_workinghours"
    UNION ALL
    SELECT 1, practitioner_id, NULL, NULL, NULL, starts_at, ends_at, reason FROM "scheduling_timeoff"
    WHERE starts_at < %(end)s AND ends_at > %(start)s
    UNION ALL
    SELECT 2, NULL, NULL, NULL, NULL, starts_at, ends_at, reason FROM "scheduling_clinicclosure"
    WHERE starts_at < %(end)s AND ends_at > %(start)s
    ORDER BY 1, 6
"""
HOURS, TIME_OFF, CLOSURE = 0, 1, 2
# The live appointments (Appointment.objects.live()) meeting a condition, in no order: busy
# times are only searched.
APPOINTMENTS_SQL = (
    'SELECT practitioner_id, room_id, patient_id, starts_at, ends_at, blocked_until FROM "scheduling_appointment"'
    " WHERE NOT (status = %s) AND {condition}"
)
# A condition in SQL and its parameters.
Condition = tuple[str, list]


# Why a time cannot be booked ------------------------------------------------------------


class Unavailable:
    """What a person is told when a time cannot be booked: one wording for the booking and
    moving services' refusals, the slot finder and the course proposal. The templates take the
    practitioner's ``name``, the local ``start``, the ``room``, and ``because``: a reason given
    for a time off or closure, as ``because(reason)`` puts it ("" when there is none)."""

    END_BEFORE_START = "The end must be after the start."
    IN_THE_PAST = "This time is in the past."
    PATIENT_BUSY = "The patient already has an appointment at this time."
    NO_FREE_ROOM = "No room is free at this time."
    NOT_TAKING_APPOINTMENTS = "{name} does not take appointments."
    NOT_A_WORKING_DAY = "{name} does not work on {start:%A}s."
    OUTSIDE_WORKING_HOURS = "This is outside {name}'s working hours on {start:%A}s ({hours})."
    CLINIC_CLOSED = "The clinic is closed then{because}."
    AWAY = "{name} is away then{because}."
    PRACTITIONER_BUSY = "{name} already has an appointment at this time."
    ROOM_NOT_IN_USE = "The room {room} is not in use."
    ROOM_BUSY = "The room {room} is already booked at this time."
    SKIPPED_BY_THE_CLOCKS = "{at:%H:%M} does not exist on {day:%d %b} (the clocks go forward)."
    PLAN_CLOSED = "This treatment plan is {status}: its sessions can no longer be booked."
    SESSION_SIGNED = "Session {number} was already given (its record is signed)."

    @staticmethod
    def because(reason: str) -> str:
        return f" ({reason})" if reason else ""


class Clash(str):
    """A reason a time cannot be booked that is another appointment holding it, not a rule
    (hours, closures, the past): the services then refuse a booking as SlotTaken, with
    alternatives."""


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
    # False: read no appointment yet; read_during() reads those in the way of the times about
    # to be asked about. Time off, closures and hours are small: read at once either way.
    read_appointments: bool = True
    zone: tzinfo = field(init=False)
    hours: dict[int, dict[int, list[tuple[time, time]]]] = field(init=False)
    time_off: dict[int, list[tuple[datetime, datetime, str]]] = field(init=False)
    closures: list[tuple[datetime, datetime, str]] = field(init=False)
    practitioner_busy: dict[int, list[Interval]] = field(init=False)
    room_busy: dict[int, list[Interval]] = field(init=False)
    patient_busy: list[Interval] = field(init=False)

    def __post_init__(self) -> None:
        # Widen by a day: an appointment's buffer or a time off may straddle the edges.
        start, end = self.start - timedelta(days=1), self.end + timedelta(days=1)
        # The clinic's zone, read once: the slot finder converts thousands of instants.
        self.zone = timezone.get_current_timezone()
        self.hours = defaultdict(lambda: defaultdict(list))
        self.time_off = defaultdict(list)
        self.closures = []
        with connection.cursor() as cursor:
            cursor.execute(RULES_SQL, {"start": start, "end": end})
            for kind, practitioner_id, weekday, opens, closes, starts_at, ends_at, reason in cursor.fetchall():
                if kind == HOURS:
                    self.hours[practitioner_id][weekday].append((opens, closes))
                elif kind == TIME_OFF:
                    self.time_off[practitioner_id].append((starts_at, ends_at, reason))
                else:
                    self.closures.append((starts_at, ends_at, reason))
        self.practitioner_busy = defaultdict(list)
        self.room_busy = defaultdict(list)
        self.patient_busy = []
        self._all_rooms = self.practitioner_ids is None
        # Whose appointments to read (None: everyone's): those of the practitioners, of the rooms
        # and of the patient; of nobody when none is given (then nothing is read).
        self._wanted: Condition | None = None
        if self.practitioner_ids is not None:
            wanted = [
                (f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids))
                for column, ids in (("practitioner_id", self.practitioner_ids), ("room_id", self.room_ids))
                if ids
            ]
            if self.patient_id is not None:
                wanted.append(("patient_id = %s", [self.patient_id]))
            self._wanted = (
                "(" + " OR ".join(sql for sql, _ in wanted) + ")" if wanted else "",
                [param for _, params in wanted for param in params],
            )
        # What was read: the periods whose appointments are all in (_read), the last ending
        # at _read_through.
        self._read: list[Condition] = []
        self._read_through: datetime | None = None
        if self.read_appointments:
            self._read_through = end
            self._read.append(self._overlapping(start, end))
            self._add(self._appointments(self._read[0], wanted=True))

    @staticmethod
    def _overlapping(start: datetime, end: datetime, *, after: datetime | None = None) -> Condition:
        """The appointments whose blocked time overlaps [start, end); with ``after``, only
        those starting from then on. Bounding the start from below too lets PostgreSQL use the
        index on starts_at (no appointment is blocked for more than LONGEST_APPOINTMENT)."""
        earliest = earliest_start_running_at(start)
        if after is not None:
            earliest = max(earliest, after)
        return "(blocked_until > %s AND starts_at >= %s AND starts_at < %s)", [start, earliest, end]

    def read_during(self, periods: Iterable[Interval]) -> None:
        """Read, in one query, the appointments whose blocked time overlaps ``periods`` too.

        The periods come in order of their start, none starting before the last one read
        started: what they share with the periods read before is not read again, so no
        appointment is counted twice.
        """
        during: list[Condition] = []
        read_through = self._read_through
        for start, end in periods:
            if read_through is not None and end <= read_through:
                continue
            # An appointment starting before read_through and in the way of this period was in
            # the way of the period read last too (that one started no later): it was read.
            during.append(self._overlapping(start, end, after=read_through))
            read_through = end
        if not during:
            return
        self._read_through = read_through
        self._read.append(_any_of(during))
        self._add(self._appointments(self._read[-1], wanted=True))

    def _add(self, rows) -> None:
        practitioner_busy, room_busy, patient_busy = self.practitioner_busy, self.room_busy, self.patient_busy
        patient_id = self.patient_id
        for practitioner_id, room_id, row_patient_id, starts_at, ends_at, blocked_until in rows:
            practitioner_busy[practitioner_id].append((starts_at, blocked_until))
            room_busy[room_id].append((starts_at, blocked_until))
            if row_patient_id == patient_id:
                patient_busy.append((starts_at, ends_at))

    def _appointments(self, condition: Condition, *, wanted: bool) -> list[tuple]:
        """The live appointments meeting ``condition`` (the one being moved left out), in no
        order: busy times are only searched. ``wanted``: only those of the practitioners, rooms
        and patient asked about (all of them when none was)."""
        conditions = [condition]
        if wanted and self._wanted is not None:
            if not self._wanted[0]:
                return []
            conditions.insert(0, self._wanted)
        if self.exclude_appointment_id is not None:
            conditions.append(("NOT (id = %s)", [self.exclude_appointment_id]))
        sql = APPOINTMENTS_SQL.format(condition=" AND ".join(sql for sql, _ in conditions))
        with connection.cursor() as cursor:
            cursor.execute(sql, [Appointment.Status.CANCELLED.value, *(p for _, params in conditions for p in params)])
            return cursor.fetchall()

    def _load_all_rooms(self) -> None:
        self._all_rooms = True
        self.room_busy = defaultdict(list)
        if not self._read:
            return
        for _, room_id, _, starts_at, _, blocked_until in self._appointments(_any_of(self._read), wanted=False):
            self.room_busy[room_id].append((starts_at, blocked_until))

    def problems(
        self,
        practitioner: Practitioner,
        starts_at: datetime,
        ends_at: datetime,
        blocked_until: datetime,
        *,
        room: Room | None = None,
        rooms: Sequence[Room] | None = None,
        prefer: Room | None = None,
    ) -> tuple[list[str], Room | None]:
        """Every reason the patient cannot see ``practitioner`` then (other appointments in the
        way as Clash), and the room for it: ``room`` when it is fixed, otherwise the first free
        one of ``rooms`` (the active rooms when not given), ``prefer`` first."""
        problems: list[str] = []
        practitioner_problem = self.practitioner_problem(practitioner, starts_at, ends_at, blocked_until)
        if practitioner_problem:
            problems.append(practitioner_problem)
        if not self.patient_is_free(starts_at, ends_at):
            problems.append(Clash(Unavailable.PATIENT_BUSY))
        if room is None:
            room = self.free_room(active_rooms() if rooms is None else rooms, starts_at, blocked_until, prefer=prefer)
            if room is None:
                problems.append(Clash(Unavailable.NO_FREE_ROOM))
        elif not room.is_active:
            problems.append(Unavailable.ROOM_NOT_IN_USE.format(room=room))
            room = None
        elif not self.room_is_free(room, starts_at, blocked_until):
            problems.append(Clash(Unavailable.ROOM_BUSY.format(room=room)))
            room = None
        return problems, room

    def practitioner_problem(
        self, practitioner: Practitioner, starts_at: datetime, ends_at: datetime, blocked_until: datetime
    ) -> str:
        """Why ``practitioner`` cannot see a patient then, or "" when they can."""
        absence = self.practitioner_absence(practitioner, starts_at, ends_at)
        if absence:
            return absence
        if self.practitioner_is_busy(practitioner, starts_at, blocked_until):
            return Clash(Unavailable.PRACTITIONER_BUSY.format(name=practitioner.name))
        return ""

    def practitioner_is_busy(self, practitioner: Practitioner, starts_at: datetime, blocked_until: datetime) -> bool:
        return _overlaps(starts_at, blocked_until, self.practitioner_busy.get(practitioner.id, ()))

    def practitioner_absence(self, practitioner: Practitioner, starts_at: datetime, ends_at: datetime) -> str:
        """Why ``practitioner`` does not work then (hours, closure, time off), or ""."""
        local_start, local_end = starts_at.astimezone(self.zone), ends_at.astimezone(self.zone)
        return self._absence(practitioner, starts_at, ends_at, local_start, local_end, worded=True)

    def free_practitioners(
        self,
        practitioner_ids: Iterable[int],
        starts_at: datetime,
        ends_at: datetime,
        blocked_until: datetime,
        local_start: datetime,
        local_end: datetime,
    ) -> list[int]:
        """Those of the practitioners (ids, in the order given) who have no practitioner_problem
        then, given the times in the clinic's zone too: the slot finder asks this of everyone at
        each time, and words nothing. The same tests as _absence's and practitioner_is_busy's,
        those that do not depend on the practitioner done once."""
        if local_end.date() != local_start.date():
            return []  # outside anyone's hours
        for closure_start, closure_end, _ in self.closures:
            if closure_start < ends_at and starts_at < closure_end:
                return []
        weekday, start_clock, end_clock = local_start.weekday(), local_start.time(), local_end.time()
        hours, time_off, practitioner_busy = self.hours, self.time_off, self.practitioner_busy
        free = []
        for practitioner_id in practitioner_ids:
            week = hours.get(practitioner_id)
            for shift_start, shift_end in week.get(weekday, ()) if week else ():
                if shift_start <= start_clock and end_clock <= shift_end:
                    break
            else:
                continue  # not a working day, or outside its hours
            away = time_off.get(practitioner_id)
            if away and any(off_start < ends_at and starts_at < off_end for off_start, off_end, _ in away):
                continue
            busy = practitioner_busy.get(practitioner_id)
            if busy and any(busy_start < blocked_until and starts_at < busy_end for busy_start, busy_end in busy):
                continue
            free.append(practitioner_id)
        return free

    def _absence(
        self,
        practitioner: Practitioner,
        starts_at: datetime,
        ends_at: datetime,
        local_start: datetime,
        local_end: datetime,
        *,
        worded: bool,
    ) -> str:
        """practitioner_absence's reason; unless ``worded``, its wording not filled in."""
        shifts = self.hours.get(practitioner.id, {}).get(local_start.weekday(), [])
        if not shifts:
            if not worded:
                return Unavailable.NOT_A_WORKING_DAY
            return Unavailable.NOT_A_WORKING_DAY.format(name=practitioner.name, start=local_start)
        if local_end.date() != local_start.date() or not any(
            shift_start <= local_start.time() and local_end.time() <= shift_end for shift_start, shift_end in shifts
        ):
            if not worded:
                return Unavailable.OUTSIDE_WORKING_HOURS
            hours = ", ".join(f"{shift_start:%H:%M}-{shift_end:%H:%M}" for shift_start, shift_end in sorted(shifts))
            return Unavailable.OUTSIDE_WORKING_HOURS.format(name=practitioner.name, start=local_start, hours=hours)
        for closure_start, closure_end, reason in self.closures:
            if closure_start < ends_at and starts_at < closure_end:
                if not worded:
                    return Unavailable.CLINIC_CLOSED
                return Unavailable.CLINIC_CLOSED.format(because=Unavailable.because(reason))
        for off_start, off_end, reason in self.time_off.get(practitioner.id, ()):
            if off_start < ends_at and starts_at < off_end:
                if not worded:
                    return Unavailable.AWAY
                return Unavailable.AWAY.format(name=practitioner.name, because=Unavailable.because(reason))
        return ""

    def room_is_free(self, room: Room, starts_at: datetime, blocked_until: datetime) -> bool:
        return self.room_id_is_free(room.id, starts_at, blocked_until)

    def room_id_is_free(self, room_id: int, starts_at: datetime, blocked_until: datetime) -> bool:
        if not self._all_rooms and room_id not in self.room_ids:
            self._load_all_rooms()
        return not _overlaps(starts_at, blocked_until, self.room_busy.get(room_id, ()))

    def patient_is_free(self, starts_at: datetime, ends_at: datetime) -> bool:
        return not _overlaps(starts_at, ends_at, self.patient_busy)

    def free_room(
        self, rooms: Sequence[Room], starts_at: datetime, blocked_until: datetime, prefer: Room | None = None
    ) -> Room | None:
        ordered = rooms if prefer is None else rooms_in_order(rooms, prefer)
        return next((room for room in ordered if self.room_is_free(room, starts_at, blocked_until)), None)

    def book(self, slot: Slot, blocked_until: datetime) -> None:
        """Count ``slot`` as taken (for proposals of several appointments at once)."""
        self.practitioner_busy[slot.practitioner.pk].append((slot.starts_at, blocked_until))
        self.room_busy[slot.room.pk].append((slot.starts_at, blocked_until))
        self.patient_busy.append((slot.starts_at, slot.ends_at))


def _any_of(conditions: Sequence[Condition]) -> Condition:
    if len(conditions) == 1:
        return conditions[0]
    return "(" + " OR ".join(sql for sql, _ in conditions) + ")", [p for _, params in conditions for p in params]


def rooms_in_order(rooms: Sequence[Room], prefer: Room | None) -> list[Room]:
    """The rooms in the order free_room tries them: ``prefer`` first."""
    return ([prefer] if prefer is not None else []) + [room for room in rooms if room != prefer]


def active_rooms() -> list[Room]:
    """Room.objects.filter(is_active=True), in the model's order (written out: see
    _practitioner_read)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT {columns(Room, "r")} FROM "scheduling_room" r WHERE is_active ORDER BY name')  # noqa: S608 - its own columns
        return [split_row(row, [Room])[0] for row in cursor.fetchall()]


def active_practitioners() -> list[Practitioner]:
    """Practitioner.objects.active() with their user and default room, as select_related("user",
    "default_room") reads them, in the model's order."""
    return [_practitioner_of(row) for row in _active_practitioner_rows()]


# What active_practitioners reads of each, in this order.
def _practitioner_parts() -> tuple:
    return (Practitioner, Practitioner._meta.get_field("user").related_model, Room)


@cache
def _practitioner_read() -> str:
    """The SQL of active_practitioners (written out: the slot finder reads it on every search,
    and the ORM took longer to build it than to run it): each practitioner's, user's and
    default room's columns."""
    practitioner, user, room = _practitioner_parts()
    return (
        f"SELECT {columns(practitioner, 'p')}, {columns(user, 'u')}, {columns(room, 'r')}"  # noqa: S608 - the models' own columns
        ' FROM "scheduling_practitioner" p'
        f" INNER JOIN {connection.ops.quote_name(user._meta.db_table)} u ON p.user_id = u.id"
        ' LEFT OUTER JOIN "scheduling_room" r ON p.default_room_id = r.id'
        " WHERE p.is_active AND u.is_active ORDER BY u.last_name, u.first_name, p.id"
    )


# Where a practitioner's default_room_id is in _active_practitioner_rows' rows.
_DEFAULT_ROOM_AT = [field.attname for field in Practitioner._meta.concrete_fields].index("default_room_id")


def _active_practitioner_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_practitioner_read())
        return cursor.fetchall()


def _practitioner_of(row: tuple) -> Practitioner:
    """The practitioner of an _active_practitioner_rows row, their user and default room cached
    on it as select_related leaves them (the user's practitioner too)."""
    practitioner, user, room = split_row(row, _practitioner_parts())
    user_field = Practitioner._meta.get_field("user")
    user_field.set_cached_value(practitioner, user)
    user_field.remote_field.set_cached_value(user, practitioner)
    Practitioner._meta.get_field("default_room").set_cached_value(practitioner, room)
    return practitioner


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
    """Free slots for ``appointment_type``, soonest first (lunchtime by default), at most
    ``limit`` of them.

    ``exclude_appointment`` is the appointment being moved: its own time counts as free for
    the others it would overlap, but its current start with its current practitioner is
    never offered (moving it there changes nothing).
    """
    default_start, default_end = lunchtime()
    window_start, window_end = window_start or default_start, window_end or default_end
    now = now or timezone.now()
    # Everyone's as rows: a practitioner is made only when a slot is theirs.
    rows = {} if practitioner is not None else {row[0]: row for row in _active_practitioner_rows()}
    practitioners = {practitioner.pk: practitioner} if practitioner is not None else {}
    rooms = active_rooms()
    if not (practitioners or rows) or not rooms or date_to < date_from:
        return []
    candidate_ids = list(practitioners or rows)
    # Each one's default room id (the rows have the practitioner's columns first).
    default_room_ids = (
        {practitioner.pk: practitioner.default_room_id}
        if practitioner is not None
        else {practitioner_id: row[_DEFAULT_ROOM_AT] for practitioner_id, row in rows.items()}
    )
    rooms_by_id = {room.id: room for room in rooms}

    def practitioner_of(practitioner_id: int) -> Practitioner:
        if practitioner_id not in practitioners:
            practitioners[practitioner_id] = _practitioner_of(rows[practitioner_id])
        return practitioners[practitioner_id]

    first, _ = day_bounds(date_from)
    _, last = day_bounds(date_to)
    availability = Availability(
        start=first,
        end=last,
        patient_id=getattr(patient, "pk", None),
        exclude_appointment_id=getattr(exclude_appointment, "pk", None),
        practitioner_ids=None if practitioner is None else [practitioner.pk],
        room_ids=(practitioner.default_room_id,) if practitioner is not None and practitioner.default_room_id else (),
        # One practitioner's appointments are few: read at once. Everyone's: see below.
        read_appointments=practitioner is not None,
    )
    zone, duration, buffer = availability.zone, appointment_type.duration, appointment_type.buffer

    def day_times(day: date) -> tuple[list[tuple[datetime, datetime, datetime, datetime]], bool]:
        """The times of ``day`` to offer if free, in order: (start, end, blocked until, local
        end); and whether the day is whole (none of its times is past)."""
        times, whole = [], True
        for starts_at in _candidate_starts(day, window_start, window_end):
            if starts_at <= now:
                whole = False
                continue
            ends_at = starts_at + duration
            local_end = ends_at.astimezone(zone)
            if local_end.date() != day or local_end.time() > window_end:
                continue
            times.append((starts_at, ends_at, ends_at + buffer, local_end))
        return times, whole

    current_start, current_practitioner_id = (
        (exclude_appointment.starts_at, exclude_appointment.practitioner_id) if exclude_appointment else (None, None)
    )
    # Each practitioner's room ids in the order free_room tries them (their own first: their
    # default room, whether in use or not, as rooms_in_order has it).
    rooms_tried: dict[int, list[int]] = {}
    # Everyone's appointments are read a stretch of days at a time until the slots are found:
    # the first whole day (with the rest of today when the search starts today, part gone),
    # then the next 3 days, the next 12, 48... Of each day only the appointments in the way of
    # its times are read (at lunchtime, about a quarter of the day's): a clinic with room on the first
    # day reads that day's lunchtime only, and three reads cover a fortnight.
    remaining_days = iter(days(date_from, date_to))
    stretch = 1
    ahead: deque[list[tuple[datetime, datetime, datetime, datetime]]] = deque()
    slots: list[Slot] = []
    while True:
        if not ahead:
            whole_days = 0
            for day in remaining_days:
                times, whole = day_times(day)
                if times:
                    ahead.append(times)
                    whole_days += whole
                    if whole_days == stretch:
                        break
            if not ahead:
                return slots
            if practitioner is None:
                # A day's times may come out of order where the clocks go back: min and max.
                availability.read_during((min(t[0] for t in times), max(t[2] for t in times)) for times in ahead)
            stretch = 3 if stretch == 1 else stretch * 4
        for starts_at, ends_at, blocked_until, local_end in ahead.popleft():
            if patient is not None and not availability.patient_is_free(starts_at, ends_at):
                continue
            local_start = starts_at.astimezone(zone)
            # No practitioner_problem: neither away (hours, closure, time off) nor busy.
            free = availability.free_practitioners(
                candidate_ids, starts_at, ends_at, blocked_until, local_start, local_end
            )
            for candidate_id in free:
                if candidate_id == current_practitioner_id and starts_at == current_start:
                    continue
                tried = rooms_tried.get(candidate_id)
                if tried is None:
                    default_room_id = default_room_ids[candidate_id]
                    tried = rooms_tried[candidate_id] = [
                        *([default_room_id] if default_room_id is not None else []),
                        *(room_id for room_id in rooms_by_id if room_id != default_room_id),
                    ]
                room_id = next(
                    (room_id for room_id in tried if availability.room_id_is_free(room_id, starts_at, blocked_until)),
                    None,
                )
                if room_id is not None:
                    candidate = practitioner_of(candidate_id)
                    room = candidate.default_room if room_id == default_room_ids[candidate_id] else rooms_by_id[room_id]
                    slots.append(Slot(candidate, room, starts_at, ends_at))
                    if len(slots) >= limit:
                        return slots


CHOICES_PER_SESSION = 5
CHOICES_PER_DAY = 2


@dataclass
class ProposedSession:
    """One session of a course proposal: the time wanted (that week's day at the chosen
    hour), the free times to choose from that week (lunchtime first; ``slot`` is the first,
    the one proposed) and, when the wanted time is not free, why."""

    number: int
    wanted_at: datetime | None
    slot: Slot | None
    conflict: str = ""
    choices: list[Slot] = field(default_factory=list)

    @property
    def is_alternative(self) -> bool:
        return bool(self.conflict) and self.slot is not None


@dataclass
class _SessionPlacer:
    """Where ``practitioner`` can see the course's patient for one session, and why not."""

    availability: Availability
    practitioner: Practitioner
    rooms: Sequence[Room]
    appointment_type: AppointmentType
    now: datetime

    def problem(self, starts_at: datetime) -> tuple[str, Room | None]:
        """The first reason the session cannot start then, or "" and its room."""
        if starts_at <= self.now:
            return Unavailable.IN_THE_PAST, None
        ends_at = starts_at + self.appointment_type.duration
        blocked_until = ends_at + self.appointment_type.buffer
        practitioner = self.practitioner
        problems, room = self.availability.problems(
            practitioner, starts_at, ends_at, blocked_until, rooms=self.rooms, prefer=practitioner.default_room
        )
        return (problems[0], None) if problems else ("", room)

    def slot(self, starts_at: datetime, room: Room) -> Slot:
        return Slot(self.practitioner, room, starts_at, starts_at + self.appointment_type.duration)

    def _in_lunchtime(self, starts_at: datetime) -> bool:
        lunch_start, lunch_end = lunchtime()
        local_start, local_end = localtime(starts_at), localtime(starts_at + self.appointment_type.duration)
        return (
            local_start.date() == local_end.date()
            and lunch_start <= local_start.time()
            and local_end.time() <= lunch_end
        )

    def choices(self, wanted_at: datetime, wanted_free: bool) -> list[Slot]:
        """A few free times of the wanted week (three days either side of the wanted day):
        the wanted time when it is free, then lunchtime times, then the others; in each
        group the nearest day first and on it the nearest clock time; at most
        CHOICES_PER_DAY a day."""
        wanted_day = localtime(wanted_at).date()
        candidates = []
        for offset in range(-ALTERNATIVE_SEARCH_DAYS, ALTERNATIVE_SEARCH_DAYS + 1):
            day = wanted_day + timedelta(days=offset)
            candidates.extend(
                starts_at
                for starts_at in _candidate_starts(day, time(0, 0), time(23, 45))
                if starts_at > self.now and starts_at != wanted_at
            )
        wanted_clock = localtime(wanted_at)

        def preference(starts_at: datetime) -> tuple:
            local = localtime(starts_at)
            clock_gap = abs((local.hour * 60 + local.minute) - (wanted_clock.hour * 60 + wanted_clock.minute))
            return (not self._in_lunchtime(starts_at), abs((local.date() - wanted_day).days), clock_gap, starts_at)

        candidates.sort(key=preference)
        if wanted_free:
            candidates.insert(0, wanted_at)
        chosen: list[Slot] = []
        per_day: dict[date, int] = defaultdict(int)
        for starts_at in candidates:
            day = localtime(starts_at).date()
            if per_day[day] >= CHOICES_PER_DAY:
                continue
            problem, room = self.problem(starts_at)
            if problem:
                continue
            chosen.append(self.slot(starts_at, room))
            per_day[day] += 1
            if len(chosen) >= CHOICES_PER_SESSION:
                break
        return chosen


def signed_session_numbers(plan) -> set[int]:
    """The numbers of the plan's sessions given: their records are signed."""
    from treatments.models import TreatmentSession

    return set(plan.sessions.filter(status=TreatmentSession.Status.SIGNED).values_list("number", flat=True))


def sessions_to_book(plan) -> list[int]:
    """The numbers of the plan's sessions still to book: neither signed (given, whether or
    not through an appointment) nor held by a live appointment."""
    booked = plan.appointments.live().filter(plan_session_number__isnull=False)
    taken = signed_session_numbers(plan) | set(booked.values_list("plan_session_number", flat=True))
    return [number for number in range(1, plan.session_count + 1) if number not in taken]


def plan_booking_refusal(plan) -> str:
    """Why the plan's course cannot be booked now, or "": only a proposed or active plan's."""
    if plan.is_open:
        return ""
    return Unavailable.PLAN_CLOSED.format(status=plan.get_status_display().lower())


def course_proposal(
    *,
    plan,
    practitioner: Practitioner,
    appointment_type: AppointmentType,
    first_day: date,
    at: time,
    now: datetime | None = None,
) -> list[ProposedSession]:
    """The plan's sessions still to book (sessions_to_book), a week apart at the same local
    weekday and time, each with the free times of its week to choose from.

    A week whose wanted time is taken proposes a free lunchtime time of that week (the same
    day first), and says why the wanted time was not possible.
    """
    from treatments.models import SESSION_INTERVAL

    now = now or timezone.now()
    if plan_booking_refusal(plan):
        return []
    numbers = sessions_to_book(plan)
    if not numbers:
        return []
    rooms = active_rooms()
    last_day = first_day + SESSION_INTERVAL * (len(numbers) - 1)
    start, _ = day_bounds(first_day - timedelta(days=ALTERNATIVE_SEARCH_DAYS))
    _, end = day_bounds(last_day + timedelta(days=ALTERNATIVE_SEARCH_DAYS))
    availability = Availability(start=start, end=end, patient_id=plan.patient_id)
    placer = _SessionPlacer(availability, practitioner, rooms, appointment_type, now)
    proposal = []
    for index, number in enumerate(numbers):
        day = first_day + SESSION_INTERVAL * index
        instants = local_instants(day, at)
        if not instants:
            wanted_at, problem = None, Unavailable.SKIPPED_BY_THE_CLOCKS.format(at=at, day=day)
        else:
            wanted_at = instants[0]
            problem, _ = placer.problem(wanted_at)
        choices = placer.choices(wanted_at or instants_or_noon(day), wanted_free=not problem)
        slot = choices[0] if choices else None
        if slot is not None:
            availability.book(slot, slot.ends_at + appointment_type.buffer)
        proposal.append(
            ProposedSession(number=number, wanted_at=wanted_at, slot=slot, conflict=problem, choices=choices)
        )
    return proposal


def instants_or_noon(day: date) -> datetime:
    return local_instants(day, time(12, 0))[0]
