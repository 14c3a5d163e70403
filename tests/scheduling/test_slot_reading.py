"""The slot finder for any practitioner reads the appointments a stretch of days at a time, and
of each day only those in the way of the times it offers (find_slots). Whatever the clinic's
week, it must find exactly the slots, in the same order, that a search reading every
appointment of the range at once finds: the read narrows, the answer does not change."""

import datetime
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.localtime import local_datetime, local_instants
from scheduling import availability
from scheduling.models import Appointment, WorkingHours
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import (
    ClinicClosureFactory,
    PractitionerFactory,
    RoomFactory,
    TimeOffFactory,
    appointment_type,
)

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
TYPES = ("Review", "Consultation", "Mesotherapy session")  # 15 min; 30 min; 45 min + a 15 min buffer
# Weeks that start on a Monday: an ordinary one, and those of both clock changes in London
# (forward on Sunday 31 March 2030, back on Sunday 27 October 2030).
WEEKS = (MONDAY, datetime.date(2030, 3, 25), datetime.date(2030, 10, 21))
WINDOWS = (
    (None, None),  # lunchtime, 12:00-14:00
    (datetime.time(11), datetime.time(15)),
    (datetime.time(0), datetime.time(23, 45)),  # the whole day: each day's times touch the next's
    (datetime.time(0, 30), datetime.time(2, 30)),  # the hour the clocks skip or repeat
    (datetime.time(12, 30), datetime.time(13)),
)


class ReadingEverything(availability.Availability):
    """Availability as it is for one practitioner: every appointment of the range read at once."""

    def __post_init__(self) -> None:
        self.read_appointments = True
        super().__post_init__()


def found(slots) -> list[tuple]:
    return [(slot.starts_at, slot.practitioner.pk, slot.room.pk, slot.ends_at) for slot in slots]


def windowed_and_full(**search) -> tuple[list[tuple], list[tuple]]:
    windowed = availability.find_slots(**search)
    with mock.patch.object(availability, "Availability", ReadingEverything):
        full = availability.find_slots(**search)
    return found(windowed), found(full)


def appointment_reads(**search) -> tuple[list, int]:
    with CaptureQueriesContext(connection) as captured:
        slots = availability.find_slots(**search)
    return slots, sum('FROM "scheduling_appointment"' in query["sql"] for query in captured.captured_queries)


@pytest.fixture
def clinic(db):
    """Four practitioners in three rooms: two share a default room, one has none and works
    every day round the clock, one works 11:00-13:00 and is away on the Wednesday of each
    week; the clinic closes on the Thursday of each week from 12:30 to 13:30."""
    rooms = [RoomFactory(name="Shared A"), RoomFactory(name="Shared B"), RoomFactory(name="Small")]
    practitioners = [
        PractitionerFactory(default_room=rooms[0]),
        PractitionerFactory(default_room=rooms[0]),
        PractitionerFactory(default_room=None, hours=False),
        PractitionerFactory(default_room=rooms[1], hours=(datetime.time(11), datetime.time(13))),
    ]
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=practitioners[2], weekday=day,
                     starts_at=datetime.time(0), ends_at=datetime.time(23, 59))
        for day in range(7)
    )  # fmt: skip
    for week in WEEKS:
        wednesday, thursday = week + datetime.timedelta(days=2), week + datetime.timedelta(days=3)
        TimeOffFactory(
            practitioner=practitioners[3],
            starts_at=local_datetime(wednesday, datetime.time(0)),
            ends_at=local_datetime(thursday, datetime.time(0)),
        )
        ClinicClosureFactory(
            starts_at=local_datetime(thursday, datetime.time(12, 30)),
            ends_at=local_datetime(thursday, datetime.time(13, 30)),
        )
    patients = [PatientFactory() for _ in range(3)]
    return practitioners, rooms, patients


def _overlap(start, end, taken) -> bool:
    return any(other_start < end and start < other_end for other_start, other_end in taken)


def _appointments(week, drawn, practitioners, rooms, patients) -> list[Appointment]:
    """The drawn appointments that the database's constraints accept (no practitioner, room or
    patient in two places at once; cancelled ones anywhere), in the order drawn."""
    types = {name: appointment_type(name) for name in TYPES}
    busy = {}
    rows = []
    for day, quarter, who, where, kind, whose, long, cancelled in drawn:
        kind = types[TYPES[kind]]
        # Where the clocks change: none of a skipped time, either of a repeated one.
        instants = local_instants(week + datetime.timedelta(days=day), datetime.time(quarter // 4, 15 * (quarter % 4)))
        if not instants:
            continue
        starts_at = instants[who % len(instants)]
        # A long one runs past midnight into the next day's times.
        ends_at = starts_at + (datetime.timedelta(hours=5) if long else kind.duration)
        blocked_until = ends_at + kind.buffer
        holders = [("practitioner", who, blocked_until), ("room", where, blocked_until), ("patient", whose, ends_at)]
        if not cancelled:
            if any(_overlap(starts_at, until, busy.get((what, index), [])) for what, index, until in holders):
                continue
            for what, index, until in holders:
                busy.setdefault((what, index), []).append((starts_at, until))
        rows.append(
            Appointment(
                patient=patients[whose], practitioner=practitioners[who], room=rooms[where], appointment_type=kind,
                starts_at=starts_at, ends_at=ends_at, blocked_until=blocked_until,
                status=Appointment.Status.CANCELLED if cancelled else Appointment.Status.BOOKED,
            )
        )  # fmt: skip
    return rows


drawn_appointments = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 2), st.integers(0, 7)),  # day of the week (7: the next Monday)
        # mostly around lunchtime and its edges, sometimes at any quarter of the day
        st.one_of(st.integers(44, 58), st.sampled_from([45, 46, 47, 55, 56, 57]), st.integers(0, 95)),
        st.integers(0, 3),  # practitioner
        st.integers(0, 2),  # room
        st.integers(0, len(TYPES) - 1),
        st.integers(0, 2),  # patient (0: the one searching)
        st.sampled_from([False] * 9 + [True]),  # a long one (5 hours)
        st.booleans(),  # cancelled
    ),
    min_size=5,
    max_size=60,
)


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    week=st.sampled_from(WEEKS),
    drawn=drawn_appointments,
    long_ones=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=3),
    first_day=st.integers(0, 2),
    span=st.integers(0, 6),
    window=st.sampled_from(WINDOWS),
    kind=st.integers(0, len(TYPES) - 1),
    limit=st.sampled_from([1, 3, 7, 20, 40, 500]),
    with_patient=st.booleans(),
    moving=st.integers(-1, 5),
    now_at=st.sampled_from([datetime.time(0), datetime.time(8), datetime.time(12, 40), datetime.time(23)]),
)
def test_reading_day_by_day_finds_what_reading_everything_finds(
    clinic, week, drawn, long_ones, first_day, span, window, kind, limit, with_patient, moving, now_at
):
    practitioners, rooms, patients = clinic
    drawn = [*drawn, *((day, 80, who, who % 3, 1, 1, True, False) for day, who in long_ones)]
    with transaction.atomic():
        rows = Appointment.objects.bulk_create(_appointments(week, drawn, practitioners, rooms, patients))
        live = [row for row in rows if row.status != Appointment.Status.CANCELLED]
        date_from = week + datetime.timedelta(days=first_day)
        search = {
            "appointment_type": appointment_type(TYPES[kind]),
            "date_from": date_from,
            "date_to": date_from + datetime.timedelta(days=span),
            "window_start": window[0],
            "window_end": window[1],
            "patient": patients[0] if with_patient else None,
            "exclude_appointment": live[moving] if 0 <= moving < len(live) else None,
            "limit": limit,
            "now": local_datetime(week, now_at),
        }
        windowed, full = windowed_and_full(**search)
        assert windowed == full
        transaction.set_rollback(True)


def _book_a_busy_week(clinic, week, draw, *, quarters, share) -> None:
    """Each practitioner booked at about ``share`` of the ``quarters`` of each day of ``week``
    and the next Monday (a seeded ``draw``: the same week every run)."""
    practitioners, rooms, patients = clinic
    drawn = [
        (day, quarter, who, draw.randrange(3), draw.randrange(len(TYPES)), draw.randrange(3), draw.random() < 0.03,
         draw.random() < 0.1)
        for day in range(8)
        for quarter in quarters
        for who in range(4)
        if draw.random() < share
    ]  # fmt: skip
    Appointment.objects.bulk_create(_appointments(week, drawn, practitioners, rooms, patients))


@pytest.mark.parametrize(("week", "seed"), [(week, seed) for seed, week in enumerate(WEEKS, start=1)])
def test_on_a_busy_week_reading_day_by_day_finds_what_reading_everything_finds(clinic, week, seed):
    """A week whose practitioners are mostly busy from 10:00 to 16:00 and round midnight (a
    seeded draw: the same week every run), searched every way: each search finds the same
    slots, in the same order, reading day by day as reading everything."""
    import itertools
    import random

    _, _, patients = clinic
    draw = random.Random(seed)
    _book_a_busy_week(clinic, week, draw, quarters=[*range(40, 64), *range(0, 8), *range(88, 96)], share=0.7)
    searches = itertools.product(
        WINDOWS, range(len(TYPES)), [None, patients[0]], [datetime.time(8), datetime.time(12, 40)], [0, 2]
    )
    for window, kind, patient, now_at, first_day in searches:
        date_from = week + datetime.timedelta(days=first_day)
        limit = draw.choice([1, 5, 20, 60, 500])
        search = {
            "appointment_type": appointment_type(TYPES[kind]),
            "date_from": date_from,
            "date_to": date_from + datetime.timedelta(days=6),
            "window_start": window[0],
            "window_end": window[1],
            "patient": patient,
            "limit": limit,
            "now": local_datetime(week, now_at),
        }
        windowed, full = windowed_and_full(**search)
        assert windowed == full, search


def _book_lunchtimes(day, practitioners, rooms, patients):
    """Every lunchtime quarter of ``day`` taken for each practitioner (in their room, with their patient)."""
    review = appointment_type("Review")
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient, practitioner=practitioner, room=room, appointment_type=review,
            starts_at=starts_at, ends_at=starts_at + review.duration, blocked_until=starts_at + review.duration,
        )
        for practitioner, room, patient in zip(practitioners, rooms, patients, strict=True)
        for quarter in range(8)
        for starts_at in [local_datetime(day, datetime.time(12 + quarter // 4, 15 * (quarter % 4)))]
    )  # fmt: skip


@pytest.mark.parametrize("limit", [1, 20, 500])
def test_no_room_for_days_on_end_the_slots_of_the_last_day_are_found(limit):
    """Lunchtimes taken from Monday to Friday (nobody works at the weekend): only the next
    Monday, the last day searched, has room, and fewer slots than 20 or 500."""
    rooms = [RoomFactory(name="Room A"), RoomFactory(name="Room B")]
    practitioners = [PractitionerFactory(default_room=room) for room in rooms]
    patients = [PatientFactory(), PatientFactory()]
    for offset in range(5):
        _book_lunchtimes(MONDAY + datetime.timedelta(days=offset), practitioners, rooms, patients)
    next_monday = MONDAY + datetime.timedelta(days=7)
    search = {
        "appointment_type": appointment_type(),
        "date_from": MONDAY,
        "date_to": next_monday,
        "limit": limit,
        "now": datetime.datetime(2030, 1, 7, 8, tzinfo=UTC),
    }
    windowed, full = windowed_and_full(**search)
    assert windowed == full
    # Two practitioners, starts from 12:00 to 13:30 for 30 minutes: 14 slots in all.
    assert len(windowed) == min(limit, 14)
    assert {starts_at.date() for starts_at, *_ in windowed} == {next_monday}
    # The first day, the next 3, then the rest: read as far as the last day, no further.
    slots, reads = appointment_reads(**search)
    assert found(slots) == windowed
    assert reads == 3


def test_appointments_just_outside_lunchtime_still_block_its_edges():
    """A mesotherapy session (45 minutes and a 15 minute buffer) at 13:15 blocks its room and
    practitioner until 14:15, after lunchtime: an appointment at 14:00 is in its way. One
    blocked until 12:15 from before lunchtime is in the way of 12:00."""
    rooms = [RoomFactory(name="Room A"), RoomFactory(name="Room B")]
    first, second = (PractitionerFactory(default_room=room) for room in rooms)
    review, mesotherapy = appointment_type("Review"), appointment_type("Mesotherapy session")
    for practitioner, kind, at in ((first, review, datetime.time(14)), (second, mesotherapy, datetime.time(11, 15))):
        starts_at = local_datetime(MONDAY, at)
        Appointment.objects.create(
            patient=PatientFactory(), practitioner=practitioner, room=practitioner.default_room, appointment_type=kind,
            starts_at=starts_at, ends_at=starts_at + kind.duration,
            blocked_until=starts_at + kind.duration + kind.buffer,
        )  # fmt: skip
    search = {
        "appointment_type": mesotherapy,
        "date_from": MONDAY,
        "date_to": MONDAY,
        "limit": 50,
        "now": datetime.datetime(2030, 1, 7, 8, tzinfo=UTC),
    }
    windowed, full = windowed_and_full(**search)
    assert windowed == full
    offered = {(starts_at.time(), practitioner) for starts_at, practitioner, *_ in windowed}
    assert (datetime.time(13, 15), first.pk) not in offered
    assert (datetime.time(13, 15), second.pk) in offered
    assert (datetime.time(12), second.pk) not in offered
    assert (datetime.time(12), first.pk) in offered


def test_a_search_begun_during_lunchtime_reads_the_rest_of_today_with_tomorrow():
    rooms = [RoomFactory(name="Room A"), RoomFactory(name="Room B")]
    practitioners = [PractitionerFactory(default_room=room) for room in rooms]
    search = {
        "appointment_type": appointment_type(),
        "date_from": MONDAY,
        "date_to": MONDAY + datetime.timedelta(days=14),
        "limit": 12,
        "now": local_datetime(MONDAY, datetime.time(13, 5)),
    }
    windowed, full = windowed_and_full(**search)
    assert windowed == full
    # 13:15 and 13:30 today, then Tuesday's seven starts, for both: one read.
    assert [starts_at.date() for starts_at, *_ in windowed] == [MONDAY] * 4 + [MONDAY + datetime.timedelta(1)] * 8
    slots, reads = appointment_reads(**search)
    assert found(slots) == windowed
    assert reads == 1
    assert practitioners


def test_reading_during_some_times_reads_the_appointments_in_their_way_once():
    practitioner = PractitionerFactory(default_room=RoomFactory(name="Room A"))
    room = practitioner.default_room
    consultation = appointment_type()
    starts = [datetime.time(9), datetime.time(11, 40), datetime.time(12, 30), datetime.time(13, 50), datetime.time(15)]
    for at in starts:
        starts_at = local_datetime(MONDAY, at)
        Appointment.objects.create(
            patient=PatientFactory(), practitioner=practitioner, room=room, appointment_type=consultation,
            starts_at=starts_at, ends_at=starts_at + consultation.duration,
            blocked_until=starts_at + consultation.duration,
        )  # fmt: skip
    first, last = local_datetime(MONDAY, datetime.time(0)), local_datetime(MONDAY, datetime.time(23))
    reading = availability.Availability(start=first, end=last, read_appointments=False)
    assert reading.practitioner_busy == {}
    reading.read_during([(local_datetime(MONDAY, datetime.time(12)), local_datetime(MONDAY, datetime.time(14)))])
    read = sorted(start.astimezone(UTC).time() for start, _ in reading.practitioner_busy[practitioner.pk])
    # 11:40-12:10 and 13:50-14:20 run into lunchtime; 09:00 and 15:00 are not in its way.
    assert read == [datetime.time(11, 40), datetime.time(12, 30), datetime.time(13, 50)]
    # A later read that overlaps the first reads only what is new: nothing is counted twice.
    reading.read_during([(local_datetime(MONDAY, datetime.time(13)), local_datetime(MONDAY, datetime.time(16)))])
    read = sorted(start.astimezone(UTC).time() for start, _ in reading.practitioner_busy[practitioner.pk])
    assert read == [datetime.time(11, 40), datetime.time(12, 30), datetime.time(13, 50), datetime.time(15)]
    assert sorted(start.astimezone(UTC).time() for start, _ in reading.room_busy[room.pk]) == read


@pytest.mark.parametrize(("week", "seed"), [(week, seed) for seed, week in enumerate(WEEKS, start=1)])
def test_the_finders_check_of_everyone_at_once_agrees_with_the_bookings_check(clinic, week, seed):
    """find_slots asks Availability.free_practitioners who is free at each time (everyone at
    once, nothing worded); a booking asks practitioner_problem of one practitioner. On the same
    busy week, every quarter of every day, for every type, both must say the same: the finder
    offers exactly the times a booking accepts."""
    import random

    practitioners, _, _ = clinic
    _book_a_busy_week(clinic, week, random.Random(seed), quarters=range(96), share=0.3)
    start, end = (
        local_datetime(week, datetime.time(0)),
        local_datetime(week + datetime.timedelta(days=8), datetime.time(0)),
    )
    seen = availability.Availability(start=start, end=end)
    ids = [practitioner.pk for practitioner in practitioners]
    compared = 0
    for kind in map(appointment_type, TYPES):
        for day in range(8):
            for quarter in range(96):
                at = datetime.time(quarter // 4, 15 * (quarter % 4))
                for starts_at in local_instants(week + datetime.timedelta(days=day), at):
                    ends_at, blocked_until = starts_at + kind.duration, starts_at + kind.duration + kind.buffer
                    local_start, local_end = starts_at.astimezone(seen.zone), ends_at.astimezone(seen.zone)
                    at_once = seen.free_practitioners(ids, starts_at, ends_at, blocked_until, local_start, local_end)
                    one_by_one = [
                        practitioner.pk
                        for practitioner in practitioners
                        if not seen.practitioner_problem(practitioner, starts_at, ends_at, blocked_until)
                    ]
                    assert at_once == one_by_one, (kind.name, starts_at)
                    compared += len(one_by_one)
    assert compared > 1000  # free times were found and compared, not only refusals
