"""The availability engine writes out the SQL of its reads (scheduling/availability.py): they
must read what the ORM would, and leave the instances as select_related leaves them."""

import datetime

import pytest
from django.db.models import Model

from scheduling import availability
from scheduling.models import Practitioner, Room
from tests.scheduling.factories import ClinicClosureFactory, PractitionerFactory, RoomFactory, TimeOffFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def values(instance: Model | None) -> dict | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.fixture
def clinic():
    rooms = [RoomFactory(name="B room"), RoomFactory(name="A room"), RoomFactory(name="Shut", is_active=False)]
    PractitionerFactory(default_room=rooms[0], user__first_name="Zoe", user__last_name="Adams")
    PractitionerFactory(default_room=None, user__first_name="Ann", user__last_name="Adams")
    PractitionerFactory(default_room=rooms[2], user__last_name="Brown")
    PractitionerFactory(is_active=False)
    PractitionerFactory(user__is_active=False)
    return rooms


def test_active_practitioners_are_those_the_orm_reads_with_their_user_and_room(clinic, django_assert_num_queries):
    expected = list(Practitioner.objects.active().select_related("user", "default_room"))
    with django_assert_num_queries(1):
        read = availability.active_practitioners()
        # The user and the default room come with them, the user knowing its practitioner.
        seen = [(values(p), values(p.user), values(p.default_room), p.user.practitioner is p) for p in read]
    assert len(read) == 3
    assert [p.pk for p in read] == [p.pk for p in expected]
    assert seen == [(values(p), values(p.user), values(p.default_room), True) for p in expected]
    assert all(p._state.db == "default" and not p._state.adding for p in read)


def test_active_rooms_are_those_the_orm_reads(clinic):
    read = availability.active_rooms()
    assert [values(room) for room in read] == [values(room) for room in Room.objects.filter(is_active=True)]
    assert [room.name for room in read] == ["A room", "B room"]


def test_hours_time_off_and_closures_are_read_in_one_query(clinic, django_assert_num_queries):
    practitioner = Practitioner.objects.active().first()
    start = datetime.datetime(2030, 1, 7, tzinfo=UTC)
    later = TimeOffFactory(practitioner=practitioner, starts_at=start + datetime.timedelta(hours=5),
                           ends_at=start + datetime.timedelta(hours=6), reason="later")  # fmt: skip
    sooner = TimeOffFactory(practitioner=practitioner, starts_at=start + datetime.timedelta(hours=1),
                            ends_at=start + datetime.timedelta(hours=2), reason="sooner")  # fmt: skip
    TimeOffFactory(practitioner=practitioner, starts_at=start - datetime.timedelta(days=9),
                   ends_at=start - datetime.timedelta(days=8))  # fmt: skip
    closure = ClinicClosureFactory(starts_at=start + datetime.timedelta(hours=3),
                                   ends_at=start + datetime.timedelta(hours=4), reason="works")  # fmt: skip
    with django_assert_num_queries(1):
        reading = availability.Availability(
            start=start, end=start + datetime.timedelta(days=1), read_appointments=False
        )
    assert reading.time_off == {practitioner.pk: [(off.starts_at, off.ends_at, off.reason) for off in (sooner, later)]}
    assert reading.closures == [(closure.starts_at, closure.ends_at, "works")]
    assert reading.hours[practitioner.pk][0] == [(datetime.time(9), datetime.time(18))]
    assert set(reading.hours) == set(
        Practitioner.objects.filter(working_hours__isnull=False).values_list("pk", flat=True)
    )
