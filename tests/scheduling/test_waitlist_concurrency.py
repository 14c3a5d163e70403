"""Two waiting patients claiming the same freed slot at the same moment, on the real
PostgreSQL: threads with their own connections; exactly one gets it."""

import threading

import pytest
from django.db import connection

from scheduling import services
from scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from scheduling.waitlist import services as waitlist
from tests.factories import PatientFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory, WaitlistEntryFactory, appointment_type
from tests.scheduling.test_concurrency import at

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data", "frozen_now")]


@pytest.mark.parametrize("claimants", [2, 6])
def test_patients_claiming_one_slot_at_once_exactly_one_gets_it(claimants, settings):
    settings.WAITLIST_OFFER_WAVE_SIZE = claimants
    practitioner = PractitionerFactory()
    RoomFactory.create_batch(2)
    entries = WaitlistEntryFactory.create_batch(claimants)
    freed = services.appointment_book(
        patient=PatientFactory(),
        practitioner=practitioner, appointment_type=appointment_type(), starts_at=at(12, 30), booked_by=None,
    )  # fmt: skip
    services.appointment_cancel(appointment=freed, reason="Patient called", cancelled_by=None)
    offers = list(WaitlistOffer.objects.filter(wave=1))
    assert len(offers) == claimants

    barrier = threading.Barrier(claimants)
    booked, refused, crashed = [], [], []
    lock = threading.Lock()

    def claim(offer: WaitlistOffer) -> None:
        try:
            barrier.wait()
            appointment = waitlist.waitlist_claim(offer=offer)
            with lock:
                booked.append(appointment)
        except waitlist.OfferUnavailable as error:
            with lock:
                refused.append(error)
        except Exception as error:
            with lock:
                crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(offer,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert crashed == []
    assert len(booked) == 1
    assert [error.reason for error in refused] == ["taken"] * (claimants - 1)
    assert Appointment.objects.live().count() == 1
    winner = booked[0]
    assert WaitlistOffer.objects.filter(claimed_at__isnull=False).get().appointment == winner
    # The winner's entry is closed; everyone else is still waiting for the next slot.
    assert set(WaitlistEntry.objects.waiting()) == {entry for entry in entries if entry.patient_id != winner.patient_id}
