"""Patients booking from their recall emails at the same moment, on the real PostgreSQL:
threads with their own connections; the exclusion constraints (and the plan's row lock)
decide, and every loser is told why."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from scheduling import services
from scheduling.models import Appointment
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import CompletedPlanFactory
from treatments.models import MaintenanceRecall

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data", "frozen_now")]
NOON = datetime.datetime(2030, 1, 8, 12, 0, tzinfo=datetime.UTC)
THREADS = 6


def race(attempts: list[dict]) -> tuple[list[Appointment], list[ValidationError]]:
    barrier = threading.Barrier(len(attempts))
    booked, refused, crashed = [], [], []
    lock = threading.Lock()

    def worker(kwargs: dict) -> None:
        try:
            barrier.wait()
            appointment = services.recall_book(appointment_type=appointment_type("Mesotherapy session"), **kwargs)
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


def test_patients_racing_for_one_lunchtime_slot_exactly_one_gets_it():
    practitioner = PractitionerFactory(default_room=RoomFactory(name="Room 1"))
    RoomFactory.create_batch(THREADS)
    plans = [CompletedPlanFactory(maintenance_due_on=datetime.date(2030, 1, 7)) for _ in range(THREADS)]
    booked, refused = race([{"plan": plan, "practitioner": practitioner, "starts_at": NOON} for plan in plans])
    assert len(booked) == 1
    assert len(refused) == THREADS - 1
    assert Appointment.objects.count() == 1
    assert all(isinstance(error, services.SlotTaken) for error in refused)
    # Only the winner's recall is booked; the losers' are untouched (rolled back with the booking).
    assert list(MaintenanceRecall.objects.values_list("plan__patient", "status")) == [
        (booked[0].patient_id, MaintenanceRecall.Status.BOOKED)
    ]


def test_one_patient_clicking_twice_books_once():
    practitioner = PractitionerFactory(default_room=RoomFactory(name="Room 1"))
    RoomFactory(name="Room 2")
    plan = CompletedPlanFactory(maintenance_due_on=datetime.date(2030, 1, 7))
    attempts = [
        {"plan": plan, "practitioner": practitioner, "starts_at": NOON},
        {"plan": plan, "practitioner": practitioner, "starts_at": NOON + datetime.timedelta(hours=1)},
    ]
    booked, refused = race(attempts)
    assert len(booked) == 1
    assert len(refused) == 1
    assert isinstance(refused[0], services.RecallAlreadyBooked)
    assert Appointment.objects.filter(patient=plan.patient).count() == 1
