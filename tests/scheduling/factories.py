"""Factories of the scheduling app; people and patients come from tests/factories.py."""

from __future__ import annotations

import datetime

import factory

from scheduling.models import (
    Appointment,
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    TimeOff,
    WaitlistEntry,
    WorkingHours,
)
from tests.factories import DoctorFactory, PatientFactory

WEEKDAYS = range(5)


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Room {n + 1}")


class PractitionerFactory(factory.django.DjangoModelFactory):
    """A doctor who works Monday to Friday, 09:00-18:00 (hours=(start, end) to change it,
    hours=False for none)."""

    class Meta:
        model = Practitioner
        skip_postgeneration_save = True

    user = factory.SubFactory(DoctorFactory)

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        start, end = extracted or (datetime.time(9), datetime.time(18))
        WorkingHours.objects.bulk_create(
            WorkingHours(practitioner=self, weekday=day, starts_at=start, ends_at=end) for day in WEEKDAYS
        )


def appointment_type(name: str = "Consultation") -> AppointmentType:
    """The default types are created by the migrations: Consultation (30 min), Mesotherapy
    session (45 min + 15 min buffer), Review (15 min)."""
    return AppointmentType.objects.get(name=name)


class AppointmentFactory(factory.django.DjangoModelFactory):
    """Writes the row directly (no validation, no emails): for calendars and fixtures."""

    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    practitioner = factory.SubFactory(PractitionerFactory)
    room = factory.SubFactory(RoomFactory)
    appointment_type = factory.LazyFunction(appointment_type)
    starts_at = factory.LazyFunction(lambda: datetime.datetime(2030, 1, 7, 10, tzinfo=datetime.UTC))
    ends_at = factory.LazyAttribute(lambda a: a.starts_at + a.appointment_type.duration)
    blocked_until = factory.LazyAttribute(lambda a: a.ends_at + a.appointment_type.buffer)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    practitioner = factory.SubFactory(PractitionerFactory)
    reason = "Annual leave"


class ClinicClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClinicClosure

    reason = "Bank holiday"


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    """A patient waiting for a lunchtime consultation with anyone, over the two weeks from
    Monday 7 January 2030 (the scheduling tests' frozen day)."""

    class Meta:
        model = WaitlistEntry

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.LazyFunction(appointment_type)
    date_from = datetime.date(2030, 1, 7)
    date_to = datetime.date(2030, 1, 21)
    window_start = datetime.time(12, 0)
    window_end = datetime.time(14, 0)
