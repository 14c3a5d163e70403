"""The waiting list: a freed slot is offered in waves through the outbox, the first patient to
claim it gets it, and nothing about it can slow or break the change that freed it."""

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from messaging import links
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from scheduling import services
from scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from scheduling.waitlist import selectors
from scheduling.waitlist import services as waitlist
from scheduling.waitlist.emails import CLAIM_ACTION
from tests.clinic.test_settings import _django_check
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY, NOW
from tests.scheduling.factories import AppointmentFactory, WaitlistEntryFactory, appointment_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC
Kind = ScheduledMessage.Kind
Status = ScheduledMessage.Status


def at(hour: int, minute: int = 0, days: int = 1) -> datetime.datetime:
    day = MONDAY + datetime.timedelta(days=days)
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _waves(settings):
    settings.WAITLIST_OFFER_WAVE_SIZE = 3
    settings.WAITLIST_OFFER_WAVES = 3
    settings.WAITLIST_OFFER_WAVE_DELAY_MINUTES = 30
    settings.WAITLIST_MIN_NOTICE_MINUTES = 120
    settings.WAITLIST_CLAIM_CUTOFF_MINUTES = 60


def book(practitioner, starts_at, *, patient=None, name="Consultation") -> Appointment:
    return services.appointment_book(
        patient=patient or PatientFactory(), practitioner=practitioner, appointment_type=appointment_type(name),
        starts_at=starts_at, booked_by=None,
    )  # fmt: skip


def cancel(appointment: Appointment) -> Appointment:
    return services.appointment_cancel(appointment=appointment, reason="Patient called", cancelled_by=None)


def offer_rows():
    return ScheduledMessage.objects.filter(kind=Kind.WAITLIST_OFFER).order_by("due_at", "id")


def claim_link(body: str) -> str:
    return re.search(r"https?://\S+/scheduling/email/waitlist/(\S+)/", body).group(1)


# Offering a freed slot --------------------------------------------------------------------


def test_a_cancellation_offers_the_slot_in_waves_longest_waiting_first(practitioner):
    entries = WaitlistEntryFactory.create_batch(7)
    cancel(book(practitioner, at(12, 30)))

    offers = list(WaitlistOffer.objects.order_by("wave", "id"))
    assert [offer.entry for offer in offers] == entries
    assert [offer.wave for offer in offers] == [1, 1, 1, 2, 2, 2, 3]
    rows = list(offer_rows())
    assert len(rows) == 7
    assert [row.due_at - NOW for row in rows] == [datetime.timedelta(minutes=m) for m in (0, 0, 0, 30, 30, 30, 60)]
    assert {row.status for row in rows} == {Status.PENDING}
    assert [o.message for o in offers] == [ScheduledMessage.objects.get(subject_ref=o.subject_ref) for o in offers]
    assert {(o.starts_at, o.ends_at, o.expires_at) for o in offers} == {(at(12, 30), at(13, 0), at(11, 30))}


def test_no_more_offers_than_the_waves_allow(practitioner):
    WaitlistEntryFactory.create_batch(12)
    cancel(book(practitioner, at(12, 30)))
    assert WaitlistOffer.objects.count() == 9


def test_waves_that_would_go_out_too_late_are_not_written(practitioner):
    WaitlistEntryFactory.create_batch(7, window_start=datetime.time(9), window_end=datetime.time(18))
    # Freed at 08:00 for 10:45: the first wave at once, the second at 08:30 (still 2h15 ahead),
    # the third at 09:00 would leave 1h45, under the two hours' notice.
    cancel(book(practitioner, at(10, 45, days=0)))
    assert sorted(WaitlistOffer.objects.values_list("wave", flat=True)) == [1, 1, 1, 2, 2, 2]


def test_far_enough_ahead_means_at_least_the_minimum_notice(practitioner, frozen_now):
    WaitlistEntryFactory(window_start=datetime.time(9), window_end=datetime.time(18), date_from=MONDAY)
    cancel(book(practitioner, at(9, 45, days=0)))  # 1 h 45 ahead
    assert WaitlistOffer.objects.count() == 0
    cancel(book(practitioner, at(10, 0, days=0)))  # exactly 2 h ahead
    assert WaitlistOffer.objects.get().starts_at == at(10, 0, days=0)


def test_the_offer_email_has_a_signed_claim_link(practitioner):
    entry = WaitlistEntryFactory(patient__first_name="Maud", patient__email="maud@example.com")
    cancel(book(practitioner, at(12, 30)))
    row = offer_rows().get()
    assert message_deliver(row.pk) == "sent"
    email = mail.outbox[-1]
    assert email.to == ["maud@example.com"]
    assert email.subject == "A slot is free for you: Tuesday 8 January at 12:30"
    assert "Consultation with Ada Okafor" in email.body
    assert "The link works until Tuesday 8 January at 11:30" in email.body
    offer = WaitlistOffer.objects.get()
    assert links.read_token(claim_link(email.body), action=CLAIM_ACTION) == offer.pk
    assert claim_link(email.body) in email.alternatives[0][0]
    assert offer.entry == entry


def test_only_entries_that_fit_the_slot_are_offered(practitioner, other_practitioner, patient):
    fits = [
        WaitlistEntryFactory(),
        WaitlistEntryFactory(practitioner=practitioner),
        WaitlistEntryFactory(weekdays=[1]),  # Tuesdays
        WaitlistEntryFactory(appointment_type=appointment_type("Review")),  # 15 min fits in 30
    ]
    WaitlistEntryFactory(practitioner=other_practitioner)
    WaitlistEntryFactory(weekdays=[0, 2])
    WaitlistEntryFactory(window_start=datetime.time(14), window_end=datetime.time(17))
    WaitlistEntryFactory(window_start=datetime.time(12), window_end=datetime.time(12, 45))  # ends 13:00
    WaitlistEntryFactory(date_from=MONDAY + datetime.timedelta(days=2))
    WaitlistEntryFactory(appointment_type=appointment_type("Mesotherapy session"))  # 60 min with buffer
    WaitlistEntryFactory(patient__email="")
    WaitlistEntryFactory(status=WaitlistEntry.Status.REMOVED)
    WaitlistEntryFactory(patient=patient)  # the patient who cancelled
    cancel(book(practitioner, at(12, 30), patient=patient))
    assert {offer.entry for offer in WaitlistOffer.objects.all()} == set(fits)
    assert len(fits) <= 9


def test_never_offered_to_a_patient_with_a_clash(practitioner, other_practitioner):
    busy = WaitlistEntryFactory()
    AppointmentFactory(patient=busy.patient, practitioner=other_practitioner, starts_at=at(12, 45))
    free = WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    assert [offer.entry for offer in WaitlistOffer.objects.all()] == [free]


def test_never_offered_to_a_patient_booked_meanwhile(practitioner, other_practitioner):
    booked = WaitlistEntryFactory()
    book(other_practitioner, at(12, 0, days=3), patient=booked.patient)
    free = WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    assert [offer.entry for offer in WaitlistOffer.objects.all()] == [free]


def test_a_later_wave_is_not_sent_to_a_patient_booked_or_busy_since(practitioner, other_practitioner, frozen_now):
    entries = WaitlistEntryFactory.create_batch(5)
    cancel(book(practitioner, at(12, 30)))
    second_wave = {o.entry_id: o for o in WaitlistOffer.objects.filter(wave=2)}
    booked, busy = (second_wave[entries[3].pk], second_wave[entries[4].pk])
    book(other_practitioner, at(12, 0, days=4), patient=booked.patient)
    book(other_practitioner, at(12, 30), patient=busy.patient)  # the very time offered
    frozen_now.move_to(NOW + datetime.timedelta(minutes=30))
    assert message_deliver(booked.message_id) == "cancelled"
    assert message_deliver(busy.message_id) == "cancelled"
    booked.message.refresh_from_db()
    busy.message.refresh_from_db()
    assert booked.message.last_error == "The patient was booked meanwhile."
    assert busy.message.last_error == "The patient has another appointment at this time."
    assert mail.outbox == []


def test_a_slot_taken_again_is_not_sent_in_later_waves(practitioner, frozen_now):
    WaitlistEntryFactory.create_batch(4)
    cancel(book(practitioner, at(12, 30)))
    book(practitioner, at(12, 30))  # the desk filled it by phone
    late = WaitlistOffer.objects.get(wave=2)
    frozen_now.move_to(NOW + datetime.timedelta(minutes=30))
    assert message_deliver(late.message_id) == "cancelled"
    late.message.refresh_from_db()
    assert late.message.last_error == "The slot was taken."


def test_a_slot_is_never_offered_twice_to_the_same_patient(practitioner):
    first = WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    cancel(book(practitioner, at(12, 30)))  # booked again and cancelled again
    assert WaitlistOffer.objects.filter(entry=first).count() == 1
    later = WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    assert WaitlistOffer.objects.filter(entry=first).count() == 1
    assert WaitlistOffer.objects.filter(entry=later).count() == 1
    assert offer_rows().count() == 2


def test_a_move_offers_the_time_it_left(practitioner):
    entry = WaitlistEntryFactory()
    appointment = book(practitioner, at(12, 30))
    services.appointment_move(appointment=appointment, starts_at=at(16, 0), moved_by=None)
    offer = WaitlistOffer.objects.get()
    assert (offer.entry, offer.starts_at, offer.freed_by) == (entry, at(12, 30), appointment)


def test_a_move_into_overlapping_time_frees_nothing(practitioner):
    WaitlistEntryFactory()
    appointment = book(practitioner, at(12, 30))
    services.appointment_move(appointment=appointment, starts_at=at(12, 45), moved_by=None)
    assert WaitlistOffer.objects.count() == 0


def test_a_no_show_is_never_far_enough_ahead(practitioner, frozen_now):
    WaitlistEntryFactory(date_from=MONDAY)
    appointment = book(practitioner, at(12, 30, days=0))
    frozen_now.move_to(at(12, 40, days=0))
    services.appointment_mark_no_show(appointment=appointment, marked_by=None)
    assert WaitlistOffer.objects.count() == 0


def test_a_failure_in_the_waitlist_never_breaks_the_cancellation(practitioner, monkeypatch, caplog):
    WaitlistEntryFactory()
    appointment = book(practitioner, at(12, 30))

    def broken(slot):
        Appointment.objects.filter(pk=appointment.pk).update(notes="written before the failure")
        raise RuntimeError("waitlist bug")

    monkeypatch.setattr(waitlist, "_offer", broken)
    cancelled = cancel(appointment)
    cancelled.refresh_from_db()
    assert cancelled.status == Appointment.Status.CANCELLED
    assert cancelled.notes == ""  # the failed offering was rolled back alone, in its savepoint
    assert WaitlistOffer.objects.count() == 0
    assert "Could not offer the slot" in caplog.text


def test_cancelling_costs_the_same_queries_however_long_the_waiting_list(
    practitioner, django_assert_max_num_queries, settings
):
    settings.WAITLIST_OFFER_WAVES = 1
    WaitlistEntryFactory.create_batch(3)
    first = book(practitioner, at(12, 30))
    with django_assert_max_num_queries(40) as few:
        cancel(first)
    WaitlistEntryFactory.create_batch(60)
    second = book(practitioner, at(13, 0))
    with django_assert_max_num_queries(len(few.captured_queries)):
        cancel(second)
    assert WaitlistOffer.objects.filter(starts_at=at(13, 0)).count() == 3


# Claiming ---------------------------------------------------------------------------------


def test_claiming_books_the_slot_confirms_it_and_closes_the_entry(practitioner):
    entries = WaitlistEntryFactory.create_batch(4)
    cancel(book(practitioner, at(12, 30)))
    offer = WaitlistOffer.objects.get(entry=entries[0])
    appointment = waitlist.waitlist_claim(offer=offer)

    assert (appointment.patient, appointment.starts_at, appointment.practitioner) == (
        entries[0].patient,
        at(12, 30),
        practitioner,
    )
    assert appointment.status == Appointment.Status.BOOKED
    assert ScheduledMessage.objects.filter(
        kind=Kind.BOOKING_CONFIRMATION, subject_ref=appointment.subject_ref, status=Status.PENDING
    ).exists()
    offer.refresh_from_db()
    entries[0].refresh_from_db()
    assert offer.appointment == appointment
    assert offer.claimed_at == NOW
    assert (entries[0].status, entries[0].appointment) == (WaitlistEntry.Status.BOOKED, appointment)
    # The fourth patient's offer (the second wave) is withdrawn; the others stay waiting.
    later = WaitlistOffer.objects.get(entry=entries[3]).message
    assert (later.status, later.last_error) == (Status.CANCELLED, "Another patient took the slot.")
    assert WaitlistEntry.objects.waiting().count() == 3


def test_the_second_claim_is_told_the_slot_was_just_taken_and_stays_waiting(practitioner):
    first, second = WaitlistEntryFactory.create_batch(2)
    cancel(book(practitioner, at(12, 30)))
    waitlist.waitlist_claim(offer=WaitlistOffer.objects.get(entry=first))
    with pytest.raises(waitlist.OfferUnavailable) as refused:
        waitlist.waitlist_claim(offer=WaitlistOffer.objects.get(entry=second))
    assert refused.value.reason == "taken"
    second.refresh_from_db()
    assert second.is_waiting
    assert Appointment.objects.live().count() == 1


def test_a_claim_after_the_cutoff_has_expired(practitioner, frozen_now):
    WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    frozen_now.move_to(at(11, 30))
    with pytest.raises(waitlist.OfferUnavailable) as refused:
        waitlist.waitlist_claim(offer=WaitlistOffer.objects.get())
    assert refused.value.reason == "expired"
    assert Appointment.objects.live().count() == 0


def test_a_patient_taken_off_the_list_cannot_claim(practitioner, receptionist):
    entry = WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    waitlist.waitlist_remove(entry=entry, removed_by=receptionist)
    assert WaitlistOffer.objects.get().message.status == Status.CANCELLED or mail.outbox == []
    with pytest.raises(waitlist.OfferUnavailable) as refused:
        waitlist.waitlist_claim(offer=WaitlistOffer.objects.get())
    assert refused.value.reason == "closed"


def test_claiming_twice_returns_the_same_appointment(practitioner):
    WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    offer = WaitlistOffer.objects.get()
    assert waitlist.waitlist_claim(offer=offer) == waitlist.waitlist_claim(offer=offer)
    assert Appointment.objects.live().count() == 1


# Adding, removing, and the refills figure ------------------------------------------------


def test_adding_refuses_a_patient_who_could_never_hear_of_an_offer(receptionist):
    patient = PatientFactory(email="")
    with pytest.raises(ValidationError, match="no email address"):
        waitlist.waitlist_add(
            patient=patient, appointment_type=appointment_type(), date_from=MONDAY, date_to=MONDAY,
            window_start=datetime.time(12), window_end=datetime.time(14), added_by=receptionist,
        )  # fmt: skip
    assert WaitlistEntry.objects.count() == 0


def test_removing_twice_says_it_is_closed(receptionist):
    entry = WaitlistEntryFactory()
    waitlist.waitlist_remove(entry=entry, removed_by=receptionist)
    entry.refresh_from_db()
    assert (entry.status, entry.closed_by) == (WaitlistEntry.Status.REMOVED, receptionist)
    with pytest.raises(ValidationError, match="already closed"):
        waitlist.waitlist_remove(entry=entry, removed_by=receptionist)


def test_refills_count_the_claims_of_a_period(practitioner, frozen_now):
    first, second = WaitlistEntryFactory.create_batch(2)
    cancel(book(practitioner, at(12, 30)))
    cancel(book(practitioner, at(13, 0)))
    waitlist.waitlist_claim(offer=WaitlistOffer.objects.get(entry=first, starts_at=at(12, 30)))
    frozen_now.move_to(NOW + datetime.timedelta(days=1, hours=-7))  # Tuesday 01:00
    waitlist.waitlist_claim(offer=WaitlistOffer.objects.get(entry=second, starts_at=at(13, 0)))
    assert selectors.waitlist_refills(date_from=MONDAY, date_to=MONDAY) == 1
    assert selectors.waitlist_refills(date_from=MONDAY, date_to=MONDAY + datetime.timedelta(days=1)) == 2
    last_week = (MONDAY - datetime.timedelta(days=7), MONDAY - datetime.timedelta(days=1))
    assert selectors.waitlist_refills(date_from=last_week[0], date_to=last_week[1]) == 0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WAITLIST_OFFER_WAVE_SIZE": "0"}, "WAITLIST_OFFER_WAVE_SIZE"),
        ({"WAITLIST_CLAIM_CUTOFF_MINUTES": "180"}, "WAITLIST_CLAIM_CUTOFF_MINUTES"),
        ({"WAITLIST_OFFER_WAVES": "three"}, "WAITLIST_OFFER_WAVES must be a whole number"),
    ],
)
def test_bad_waitlist_settings_stop_the_start_with_the_variable_named(env, named):
    result = _django_check({"DEBUG": "true", **env})
    assert result.returncode != 0
    assert named in result.stderr
