"""Receptionists booking at the same moment, on the real PostgreSQL: threads with their own
connections race for the same slot; the exclusion constraints decide."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from scheduling import services
from scheduling.models import Appointment
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data", "frozen_now")]
THREADS = 8


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(MONDAY.year, MONDAY.month, MONDAY.day + 1, hour, minute, tzinfo=datetime.UTC)


def race(attempts: list[dict]) -> tuple[list[Appointment], list[ValidationError]]:
    """Run each booking in its own thread, all released at once."""
    barrier = threading.Barrier(len(attempts))
    booked, refused, crashed = [], [], []
    lock = threading.Lock()

    def worker(kwargs: dict) -> None:
        try:
            barrier.wait()
            appointment = services.appointment_book(appointment_type=appointment_type(), **kwargs)
            with lock:
                booked.append(appointment)
        except ValidationError as error:
            with lock:
                refused.append(error)
        except Exception as error:
            with lock:
                crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(kwargs,)) for kwargs in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert crashed == []
    return booked, refused


def test_many_receptionists_same_practitioner_same_time_exactly_one_wins():
    practitioner = PractitionerFactory()
    RoomFactory.create_batch(THREADS)
    attempts = [
        {"patient": PatientFactory(), "practitioner": practitioner, "starts_at": at(12, 30), "booked_by": None}
        for _ in range(THREADS)
    ]
    booked, refused = race(attempts)
    assert len(booked) == 1
    assert len(refused) == THREADS - 1
    assert Appointment.objects.count() == 1
    # Whether a loser was stopped by the friendly check or by the constraint, it is told why.
    assert all("already has an appointment" in str(e) or "just taken" in str(e) for e in refused)


def test_same_room_different_practitioners_exactly_one_wins():
    room = RoomFactory(name="Only room")
    attempts = [
        {
            "patient": PatientFactory(),
            "practitioner": PractitionerFactory(default_room=room),
            "room": room,
            "starts_at": at(12, 30),
            "booked_by": None,
        }
        for _ in range(THREADS)
    ]
    booked, refused = race(attempts)
    assert len(booked) == 1
    assert Appointment.objects.count() == 1
    assert all("Only room" in str(e) or "just taken" in str(e) for e in refused)


def test_many_bookings_of_one_practitioner_and_one_room_queue_instead_of_deadlocking():
    # Inserted side by side, rows that conflict on two exclusion constraints wait for each
    # other and PostgreSQL fails all but one with "deadlock detected"; the services lock the
    # practitioner, patient and room first, so every loser is refused with a reason.
    room = RoomFactory(name="Treatment room")
    practitioner = PractitionerFactory(default_room=room)
    attempts = [
        {
            "patient": PatientFactory(),
            "practitioner": practitioner,
            "room": room,
            "starts_at": at(12, 30),
            "booked_by": None,
        }
        for _ in range(THREADS * 2)
    ]
    booked, refused = race(attempts)
    assert len(booked) == 1
    assert len(refused) == THREADS * 2 - 1
    assert all("already has an appointment" in str(e) or "already booked" in str(e) for e in refused)


def test_adjacent_slots_both_succeed():
    practitioner = PractitionerFactory()
    RoomFactory(name="Room A")
    attempts = [
        {"patient": PatientFactory(), "practitioner": practitioner, "starts_at": at(12, 0), "booked_by": None},
        {"patient": PatientFactory(), "practitioner": practitioner, "starts_at": at(12, 30), "booked_by": None},
    ]
    booked, refused = race(attempts)
    assert (len(booked), refused) == (2, [])


def test_a_cancelled_slot_can_be_booked_again_by_one_of_many():
    practitioner = PractitionerFactory()
    RoomFactory.create_batch(THREADS)
    first = services.appointment_book(
        patient=PatientFactory(), practitioner=practitioner, appointment_type=appointment_type(),
        starts_at=at(12, 30), booked_by=None,
    )  # fmt: skip
    services.appointment_cancel(appointment=first, reason="Patient called", cancelled_by=None)
    attempts = [
        {"patient": PatientFactory(), "practitioner": practitioner, "starts_at": at(12, 30), "booked_by": None}
        for _ in range(THREADS)
    ]
    booked, _refused = race(attempts)
    assert len(booked) == 1
    assert Appointment.objects.live().count() == 1
    assert Appointment.objects.count() == 2


def test_the_constraint_alone_stops_the_race(monkeypatch):
    """With the friendly checks out of the way every thread reaches the INSERT: PostgreSQL
    lets one through and the others get "this slot was just taken", not a 500."""
    practitioner = PractitionerFactory()
    rooms = RoomFactory.create_batch(THREADS)
    real_checks = services._availability_errors
    by_patient = {}

    def no_friendly_checks(appointment, **kwargs):
        _errors, _room = real_checks(appointment, **kwargs)
        return [], rooms[by_patient[appointment.patient_id]]

    monkeypatch.setattr(services, "_availability_errors", no_friendly_checks)
    attempts = []
    for index in range(THREADS):
        patient = PatientFactory()
        by_patient[patient.pk] = index
        attempts.append({"patient": patient, "practitioner": practitioner, "starts_at": at(12, 30), "booked_by": None})
    booked, refused = race(attempts)
    assert len(booked) == 1
    assert len(refused) == THREADS - 1
    assert all(isinstance(error, services.SlotTaken) for error in refused)
    assert all("This slot was just taken." in error.messages[0] for error in refused)


def test_without_the_locks_the_constraint_still_decides_and_deadlocks_are_retried(monkeypatch):
    """The last line of defence: no friendly checks, no queueing. Conflicting inserts of one
    practitioner and one room deadlock; PostgreSQL fails one, the service tries it again, and
    the constraint refuses it. Still exactly one booking and no error page."""
    room = RoomFactory(name="Treatment room")
    practitioner = PractitionerFactory(default_room=room)
    monkeypatch.setattr(services, "_lock_calendars", lambda **kwargs: None)
    monkeypatch.setattr(services, "_availability_errors", lambda appointment, **kwargs: ([], room))
    attempts = [
        {
            "patient": PatientFactory(),
            "practitioner": practitioner,
            "room": room,
            "starts_at": at(12, 30),
            "booked_by": None,
        }
        for _ in range(THREADS * 2)
    ]
    booked, refused = race(attempts)
    assert len(booked) == 1
    assert len(refused) == THREADS * 2 - 1
    assert all(isinstance(error, services.SlotTaken) for error in refused)


def test_two_moves_into_the_same_slot_exactly_one_wins():
    practitioner = PractitionerFactory()
    RoomFactory.create_batch(2)
    appointments = [
        services.appointment_book(
            patient=PatientFactory(),
            practitioner=practitioner,
            appointment_type=appointment_type(),
            starts_at=at(hour),
            booked_by=None,
        )
        for hour in (10, 11)
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(appointment: Appointment) -> None:
        try:
            barrier.wait()
            services.appointment_move(appointment=appointment, starts_at=at(12, 30), moved_by=None)
            outcomes.append("moved")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(appointment,)) for appointment in appointments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[-1] == "moved"
    assert outcomes.count("moved") == 1
    assert Appointment.objects.filter(starts_at=at(12, 30)).count() == 1
