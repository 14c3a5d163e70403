"""The slot finder and course proposals, including both daylight-saving changes (Europe/London:
clocks forward at 01:00 GMT on 31 March 2030, back at 02:00 BST on 27 October 2030)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils.timezone import localtime

from clinic.localtime import AmbiguousLocalTime, NonexistentLocalTime, local_datetime
from messaging.models import ScheduledMessage
from scheduling import availability, selectors, services
from scheduling.models import WorkingHours
from tests.factories import DoctorFactory, PatientFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import (
    AppointmentFactory,
    ClinicClosureFactory,
    PractitionerFactory,
    RoomFactory,
    TimeOffFactory,
    appointment_type,
)
from tests.treatments.factories import ActivePlanFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC
SPRING_SUNDAY = datetime.date(2030, 3, 31)
AUTUMN_SUNDAY = datetime.date(2030, 10, 27)


def local(day: datetime.date, hour: int, minute: int = 0, fold: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, fold=fold, tzinfo=LONDON)


def works_every_day(practitioner, start=datetime.time(0, 0), end=datetime.time(23, 59)):
    WorkingHours.objects.filter(practitioner=practitioner).delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(practitioner=practitioner, weekday=day, starts_at=start, ends_at=end) for day in range(7)
    )


@pytest.mark.usefixtures("frozen_now")
def test_lunchtime_slots_soonest_first_and_busy_times_left_out(practitioner, other_practitioner):
    AppointmentFactory(practitioner=practitioner, starts_at=datetime.datetime(2030, 1, 7, 12, tzinfo=UTC))
    slots = availability.find_slots(appointment_type=appointment_type(), date_from=MONDAY, date_to=MONDAY, limit=50)
    starts = [(localtime(s.starts_at).strftime("%H:%M"), s.practitioner) for s in slots]
    assert starts[0] == ("12:00", other_practitioner)
    assert ("12:00", practitioner) not in starts
    assert ("12:15", practitioner) not in starts
    assert starts[1] == ("12:15", other_practitioner)
    assert ("12:30", practitioner) in starts
    assert max(localtime(s.ends_at).time() for s in slots) == datetime.time(14, 0)
    assert [s.starts_at for s in slots] == sorted(s.starts_at for s in slots)


@pytest.mark.usefixtures("frozen_now")
def test_slot_finder_skips_the_patients_own_appointments_and_the_past(practitioner, other_practitioner, patient):
    AppointmentFactory(
        patient=patient, practitioner=other_practitioner, starts_at=datetime.datetime(2030, 1, 7, 12, tzinfo=UTC)
    )
    slots = availability.find_slots(
        appointment_type=appointment_type(),
        date_from=MONDAY - datetime.timedelta(days=3),
        date_to=MONDAY,
        patient=patient,
    )
    assert slots[0].starts_at == datetime.datetime(2030, 1, 7, 12, 30, tzinfo=UTC)


def test_nonexistent_local_time_is_refused_and_never_offered(practitioner):
    works_every_day(practitioner)
    with pytest.raises(NonexistentLocalTime):
        local_datetime(SPRING_SUNDAY, datetime.time(1, 30))
    with time_machine.travel(datetime.datetime(2030, 3, 30, 12, tzinfo=UTC), tick=False):
        slots = availability.find_slots(
            appointment_type=appointment_type("Review"), date_from=SPRING_SUNDAY, date_to=SPRING_SUNDAY,
            window_start=datetime.time(0, 0), window_end=datetime.time(3, 0), practitioner=practitioner, limit=100,
        )  # fmt: skip
    local_starts = [localtime(s.starts_at).strftime("%H:%M") for s in slots]
    assert local_starts[:4] == ["00:00", "00:15", "00:30", "00:45"]
    assert not any(start.startswith("01:") for start in local_starts)
    assert local_starts[4] == "02:00"
    # The 00:45 review ends at 02:00 BST: 15 real minutes.
    assert slots[3].ends_at - slots[3].starts_at == datetime.timedelta(minutes=15)


def test_ambiguous_local_time_is_explicit_and_offered_twice(practitioner):
    works_every_day(practitioner)
    with pytest.raises(AmbiguousLocalTime):
        local_datetime(AUTUMN_SUNDAY, datetime.time(1, 30))
    first = local_datetime(AUTUMN_SUNDAY, datetime.time(1, 30), fold=0)
    second = local_datetime(AUTUMN_SUNDAY, datetime.time(1, 30), fold=1)
    assert (first, second) == (
        datetime.datetime(2030, 10, 27, 0, 30, tzinfo=UTC),
        datetime.datetime(2030, 10, 27, 1, 30, tzinfo=UTC),
    )
    with time_machine.travel(datetime.datetime(2030, 10, 26, 12, tzinfo=UTC), tick=False):
        slots = availability.find_slots(
            appointment_type=appointment_type("Review"), date_from=AUTUMN_SUNDAY, date_to=AUTUMN_SUNDAY,
            window_start=datetime.time(1, 0), window_end=datetime.time(2, 0), practitioner=practitioner, limit=100,
        )  # fmt: skip
    at_130 = [s.starts_at for s in slots if localtime(s.starts_at).strftime("%H:%M") == "01:30"]
    assert at_130 == [first, second]
    assert len({s.starts_at for s in slots}) == len(slots) == 8


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (datetime.date(2030, 3, 29), datetime.date(2030, 4, 1)),  # GMT Friday, BST Monday
        (datetime.date(2030, 10, 25), datetime.date(2030, 10, 28)),  # BST Friday, GMT Monday
    ],
)
def test_a_lunchtime_slot_stays_1230_across_the_change(practitioner, before, after):
    with time_machine.travel(datetime.datetime(2030, 3, 1, tzinfo=UTC), tick=False):
        for day in (before, after):
            slots = availability.find_slots(
                appointment_type=appointment_type(), date_from=day, date_to=day, practitioner=practitioner, limit=100
            )
            assert local(day, 12, 30) in [s.starts_at for s in slots]
            assert all(datetime.time(12) <= localtime(s.starts_at).time() < datetime.time(14) for s in slots)
    assert local(before, 12, 30).utcoffset() != local(after, 12, 30).utcoffset()


@pytest.mark.parametrize(
    ("appointment_day", "completed_day", "next_day_10_utc"),
    [
        # Spring: session on Saturday (GMT); 10:00 on Sunday is BST, 09:00 UTC.
        (datetime.date(2030, 3, 30), datetime.date(2030, 3, 30), datetime.datetime(2030, 3, 31, 9, tzinfo=UTC)),
        # Autumn: session on Saturday (BST); 10:00 on Sunday is GMT, 10:00 UTC.
        (datetime.date(2030, 10, 26), datetime.date(2030, 10, 26), datetime.datetime(2030, 10, 27, 10, tzinfo=UTC)),
    ],
)
def test_due_times_across_the_change(practitioner, appointment_day, completed_day, next_day_10_utc):
    works_every_day(practitioner, datetime.time(9), datetime.time(18))
    plan = ActivePlanFactory(doctor=practitioner.user, session_count=4)
    mesotherapy = appointment_type("Mesotherapy session")
    with time_machine.travel(local(appointment_day, 8) - datetime.timedelta(days=10), tick=False) as clock:
        first = services.appointment_book(
            patient=plan.patient, practitioner=practitioner, appointment_type=mesotherapy,
            starts_at=local(appointment_day, 12, 30), booked_by=None, plan=plan, plan_session_number=1,
        )  # fmt: skip
        following_day = appointment_day + datetime.timedelta(days=7)
        second = services.appointment_book(
            patient=plan.patient, practitioner=practitioner, appointment_type=mesotherapy,
            starts_at=local(following_day, 12, 30), booked_by=None, plan=plan, plan_session_number=2,
        )  # fmt: skip
        reminder = ScheduledMessage.objects.get(subject_ref=second.subject_ref, kind="appointment_reminder")
        # 24 real hours before, whatever the clock on the wall says.
        assert reminder.due_at == second.starts_at - datetime.timedelta(hours=24)
        clock.move_to(local(completed_day, 13, 30))
        services.appointment_complete(appointment=first, completed_by=None)
    row = ScheduledMessage.objects.get(kind="next_session_reminder")
    assert row.due_at == next_day_10_utc
    assert localtime(row.due_at).time() == datetime.time(10, 0)


@pytest.mark.usefixtures("frozen_now")
def test_course_proposal_keeps_weekday_and_time_and_offers_lunchtime_alternatives(practitioner):
    plan = ActivePlanFactory(doctor=practitioner.user, session_count=5, patient=PatientFactory())
    mesotherapy = appointment_type("Mesotherapy session")
    taken = datetime.datetime(2030, 1, 21, 12, 30, tzinfo=UTC)  # week 3
    AppointmentFactory(practitioner=practitioner, starts_at=taken, appointment_type=mesotherapy)
    proposal = availability.course_proposal(
        plan=plan, practitioner=practitioner, appointment_type=mesotherapy, first_day=MONDAY, at=datetime.time(12, 30)
    )
    assert [p.number for p in proposal] == [1, 2, 3, 4, 5]
    assert [p.conflict for p in proposal if p.conflict] == ["Ada Okafor already has an appointment at this time."]
    third = proposal[2]
    assert third.is_alternative
    # Monday's lunchtime is full: the same clock time the next day, not 11:30 or 14:00.
    assert third.slot.starts_at == taken + datetime.timedelta(days=1)
    lunch_start, lunch_end = availability.lunchtime()
    assert len(third.choices) == availability.CHOICES_PER_SESSION
    assert all(
        lunch_start <= localtime(c.starts_at).time() and localtime(c.ends_at).time() <= lunch_end for c in third.choices
    )
    assert all(abs(c.starts_at - taken) < datetime.timedelta(days=4) for c in third.choices)
    assert proposal[0].choices[0] == proposal[0].slot  # a free wanted time is the first choice
    first = datetime.datetime(2030, 1, 7, 12, 30, tzinfo=UTC)
    assert all(p.slot.starts_at == first + datetime.timedelta(weeks=i) for i, p in enumerate(proposal) if i != 2)


def test_a_course_across_the_spring_change_stays_at_1230_local(practitioner):
    plan = ActivePlanFactory(doctor=practitioner.user, session_count=4)
    with time_machine.travel(datetime.datetime(2030, 3, 1, tzinfo=UTC), tick=False):
        proposal = availability.course_proposal(
            plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            first_day=datetime.date(2030, 3, 18), at=datetime.time(12, 30),
        )  # fmt: skip
    assert [p.conflict for p in proposal] == ["", "", "", ""]
    assert [localtime(p.slot.starts_at).strftime("%a %d %b %H:%M") for p in proposal] == [
        "Mon 18 Mar 12:30", "Mon 25 Mar 12:30", "Mon 01 Apr 12:30", "Mon 08 Apr 12:30",
    ]  # fmt: skip
    assert [p.slot.starts_at.hour for p in proposal] == [12, 12, 11, 11]  # UTC: GMT, then BST


def test_day_columns_in_one_query_with_every_working_practitioner(
    practitioner, other_practitioner, patient, django_assert_num_queries
):
    # Ada Okafor and Ben Marsh take appointments; a retired practitioner still has one that day.
    retired = PractitionerFactory(user=DoctorFactory(first_name="Cleo", last_name="Abbot"), is_active=False)
    PractitionerFactory(user=DoctorFactory(first_name="Dan", last_name="Idle"), is_active=False)
    starts = local_datetime(MONDAY, datetime.time(12, 30))
    later = AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=starts)
    earlier = AppointmentFactory(practitioner=practitioner, starts_at=starts - datetime.timedelta(hours=2))
    AppointmentFactory(practitioner=retired, starts_at=starts)
    AppointmentFactory(practitioner=practitioner, starts_at=starts + datetime.timedelta(days=1))  # another day
    with django_assert_num_queries(1):
        columns = selectors.day_columns(MONDAY)
    assert [column.practitioner.name for column in columns] == ["Cleo Abbot", "Ben Marsh", "Ada Okafor"]
    assert [column.practitioner.pk for column in columns] == [retired.pk, other_practitioner.pk, practitioner.pk]
    assert columns[1].appointments == []
    entries = columns[2].appointments
    assert [entry.pk for entry in entries] == [earlier.pk, later.pk]
    assert entries[1].patient.full_name == "Jane Doe"
    assert entries[1].appointment_type.name == later.appointment_type.name


@pytest.mark.usefixtures("frozen_now")
def test_course_proposal_gives_the_booking_services_reasons_word_for_word(practitioner, patient):
    plan = ActivePlanFactory(doctor=practitioner.user, session_count=4, patient=patient)
    mesotherapy = appointment_type("Mesotherapy session")
    week = [datetime.datetime(2030, 1, 7, 12, 30, tzinfo=UTC) + datetime.timedelta(weeks=n) for n in range(4)]
    TimeOffFactory(
        practitioner=practitioner, starts_at=week[0], ends_at=week[0] + datetime.timedelta(hours=2), reason="Conference"
    )
    ClinicClosureFactory(starts_at=week[1], ends_at=week[1] + datetime.timedelta(hours=2), reason="Staff training")
    AppointmentFactory(practitioner=practitioner, starts_at=week[2], appointment_type=mesotherapy)
    proposal = availability.course_proposal(
        plan=plan, practitioner=practitioner, appointment_type=mesotherapy, first_day=MONDAY, at=datetime.time(12, 30)
    )
    conflicts = [p.conflict for p in proposal]
    assert conflicts == [
        "Ada Okafor is away then (Conference).",
        "The clinic is closed then (Staff training).",
        "Ada Okafor already has an appointment at this time.",
        "",
    ]
    for conflict, starts_at in zip(conflicts[:3], week, strict=False):
        with pytest.raises(ValidationError) as refused:
            services.appointment_book(
                patient=patient, practitioner=practitioner, appointment_type=mesotherapy, starts_at=starts_at,
                booked_by=practitioner.user,
            )  # fmt: skip
        assert conflict in " ".join(refused.value.messages)


def _busy_small_clinic(patient):
    """Three practitioners and three rooms (two share a default room), their lunchtimes mostly taken for a week and a
    half (a seeded shuffle: the same clinic every run), the patient busy now and then."""
    import random

    rooms = [RoomFactory(name="Shared A"), RoomFactory(name="Shared B"), RoomFactory(name="Small")]
    practitioners = [
        PractitionerFactory(default_room=rooms[0]),
        PractitionerFactory(default_room=rooms[0]),
        PractitionerFactory(default_room=rooms[1], hours=(datetime.time(11), datetime.time(13))),
    ]
    shuffle = random.Random(7)
    review = appointment_type("Review")
    for offset in range(11):
        day = MONDAY + datetime.timedelta(days=offset)
        for quarter in range(8):
            starts = local_datetime(day, datetime.time(12 + quarter // 4, 15 * (quarter % 4)))
            free_rooms = shuffle.sample(rooms, len(rooms))
            patient_booked = False
            for practitioner, room in zip(practitioners, free_rooms, strict=False):
                if shuffle.random() < 0.8:
                    with_patient = not patient_booked and shuffle.random() < 0.05
                    patient_booked |= with_patient
                    AppointmentFactory(
                        practitioner=practitioner, room=room, appointment_type=review, starts_at=starts,
                        patient=patient if with_patient else PatientFactory(),
                    )  # fmt: skip
    return practitioners


def _exhaustive(practitioners, *, limit, **search):
    """The slots found practitioner by practitioner (each reads every appointment of the
    range at once), merged in the any-practitioner finder's order."""
    order = {practitioner.pk: index for index, practitioner in enumerate(availability.active_practitioners())}
    every = [
        slot
        for practitioner in practitioners
        for slot in availability.find_slots(practitioner=practitioner, limit=10_000, **search)
    ]
    every.sort(key=lambda slot: (slot.starts_at, order[slot.practitioner.pk]))
    return every[:limit]


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("limit", [3, 20, 60, 500])
def test_any_practitioner_finder_reading_day_by_day_finds_what_an_exhaustive_search_finds(patient, limit):
    practitioners = _busy_small_clinic(patient)
    search = {
        "appointment_type": appointment_type(),
        "date_from": MONDAY,
        "date_to": MONDAY + datetime.timedelta(days=15),
        "patient": patient,
    }
    found = availability.find_slots(limit=limit, **search)
    expected = _exhaustive(practitioners, limit=limit, **search)
    assert len(found) == min(limit, len(expected))
    assert [(s.starts_at, s.practitioner.pk, s.room.pk) for s in found] == [
        (s.starts_at, s.practitioner.pk, s.room.pk) for s in expected
    ]


@pytest.mark.usefixtures("frozen_now")
def test_any_practitioner_finder_stops_reading_once_it_has_its_slots(practitioner, other_practitioner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    AppointmentFactory(practitioner=practitioner, starts_at=local_datetime(MONDAY, datetime.time(12)))
    search = {"appointment_type": appointment_type(), "date_from": MONDAY, "date_to": MONDAY + datetime.timedelta(14)}

    def appointment_reads(limit: int) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            found = availability.find_slots(limit=limit, **search)
        return len(found), sum('FROM "scheduling_appointment"' in query["sql"] for query in captured.captured_queries)

    # Monday's lunchtime holds 12 slots (7 starts for two, 12:00 and 12:15 taken for one):
    # 3 slots need Monday's appointments only; 40 Monday's and the next 3 days'.
    assert appointment_reads(3) == (3, 1)
    assert appointment_reads(40) == (40, 2)
    # All of them: the first day, the next 3, the next 12 cover the fortnight: no more reads.
    assert appointment_reads(1000) == (12 + 14 * 10, 3)
