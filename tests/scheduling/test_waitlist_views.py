"""The waiting list pages: the front desk's list, adding and removing, and the patient's
public claim page (GET shows, POST takes; bad, expired and taken links get a clear page)."""

import datetime

import pytest
from django.urls import reverse

from messaging.links import make_token
from scheduling.models import Appointment, WaitlistEntry, WaitlistOffer
from scheduling.waitlist.emails import CLAIM_ACTION
from scheduling.waitlist.services import waitlist_claim
from tests.factories import PatientFactory
from tests.scheduling.factories import WaitlistEntryFactory, appointment_type
from tests.scheduling.test_waitlist import at, book, cancel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture
def offers(practitioner):
    """Two waiting patients offered Tuesday 12:30, freed by a cancellation."""
    WaitlistEntryFactory(patient__first_name="Maud", patient__last_name="Arnaud")
    WaitlistEntryFactory(patient__first_name="Inès", patient__last_name="Roy")
    cancel(book(practitioner, at(12, 30)))
    return list(WaitlistOffer.objects.order_by("id"))


def claim_url(offer: WaitlistOffer) -> str:
    return reverse("scheduling:waitlist_claim", args=[make_token(CLAIM_ACTION, offer.pk)])


# The front desk -----------------------------------------------------------------------------


def test_front_desk_sees_who_waits_the_offers_sent_and_who_claimed(receptionist_client, offers):
    waitlist_claim(offer=offers[1])
    WaitlistEntryFactory(patient__first_name="Zoé", patient__last_name="Martin", notes="Prefers Dr Okafor")
    body = receptionist_client.get(reverse("scheduling:waitlist")).content.decode()
    assert "Waiting (2)" in body
    assert "Zoé Martin" in body
    assert "Prefers Dr Okafor" in body
    assert "Maud Arnaud" in body
    assert "Tue 8 Jan, 12:30" in body
    assert body.count("Took the slot") == 1
    assert "Not taken" in body
    assert "at least 2 hours ahead" in body


def test_waitlist_page_queries_do_not_grow_with_rows(receptionist_client, practitioner, django_assert_max_num_queries):
    WaitlistEntryFactory()
    cancel(book(practitioner, at(12, 30)))
    with django_assert_max_num_queries(30) as few:
        receptionist_client.get(reverse("scheduling:waitlist"))
    WaitlistEntryFactory.create_batch(15)
    cancel(book(practitioner, at(13, 0)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = receptionist_client.get(reverse("scheduling:waitlist"))
    assert response.context["page"].paginator.count == 16
    assert len(response.context["offers"]) == 10


def test_receptionist_adds_a_patient_with_lunchtime_by_default(receptionist_client, receptionist, practitioner):
    patient = PatientFactory(first_name="Léa", last_name="Petit")
    url = reverse("scheduling:waitlist_add")
    form = receptionist_client.get(url, {"patient": patient.pk}).context["form"]
    assert (form["window_start"].value(), form["window_end"].value()) == (datetime.time(12), datetime.time(14))
    assert form["appointment_type"].value() == appointment_type().pk
    response = receptionist_client.post(
        url,
        {
            "patient": patient.pk,
            "appointment_type": appointment_type().pk,
            "practitioner": practitioner.pk,
            "date_from": "2030-01-07",
            "date_to": "2030-01-31",
            "window_start": "12:00",
            "window_end": "14:00",
            "weekdays": ["1", "3"],
            "notes": "Any lunchtime",
        },
    )
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert (entry.patient, entry.practitioner, entry.weekdays, entry.added_by) == (
        patient,
        practitioner,
        [1, 3],
        receptionist,
    )
    assert entry.date_to == datetime.date(2030, 1, 31)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"date_to": "2030-01-01"}, "The last day must not be before the first."),
        ({"window_end": "11:00"}, "The latest end must be after the earliest start."),
        ({"date_to": "2031-01-01"}, "Wait at most 183 days at a time."),
        ({"window_start": "noon"}, "Enter a valid time."),
        ({"weekdays": ["9"]}, "Select a valid choice."),
    ],
)
def test_bad_input_is_named_and_nothing_is_saved(receptionist_client, change, message):
    patient = PatientFactory()
    data = {
        "patient": patient.pk, "appointment_type": appointment_type().pk, "date_from": "2030-01-07",
        "date_to": "2030-01-31", "window_start": "12:00", "window_end": "14:00", **change,
    }  # fmt: skip
    response = receptionist_client.post(reverse("scheduling:waitlist_add"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert WaitlistEntry.objects.count() == 0


def test_a_patient_without_email_is_refused_with_the_reason(receptionist_client):
    patient = PatientFactory(email="")
    data = {
        "patient": patient.pk, "appointment_type": appointment_type().pk, "date_from": "2030-01-07",
        "date_to": "2030-01-31", "window_start": "12:00", "window_end": "14:00",
    }  # fmt: skip
    response = receptionist_client.post(reverse("scheduling:waitlist_add"), data)
    assert response.status_code == 400
    assert "This patient has no email address" in response.content.decode()
    assert WaitlistEntry.objects.count() == 0


def test_the_patient_page_links_to_the_waiting_list(receptionist_client):
    patient = PatientFactory()
    body = receptionist_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert f'href="/scheduling/waitlist/add/?patient={patient.pk}"' in body


def test_removing_takes_the_patient_off_and_withdraws_pending_offers(receptionist_client, offers):
    entry = offers[0].entry
    response = receptionist_client.post(reverse("scheduling:waitlist_remove", args=[entry.pk]))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.REMOVED
    offers[0].message.refresh_from_db()
    assert offers[0].message.status == "cancelled"
    again = receptionist_client.post(reverse("scheduling:waitlist_remove", args=[entry.pk]), follow=True)
    assert "This entry is already closed" in again.content.decode()


def test_managers_see_the_list_but_do_not_add(manager_client):
    assert manager_client.get(reverse("scheduling:waitlist")).status_code == 200
    patient = PatientFactory()
    assert manager_client.get(reverse("scheduling:waitlist_add"), {"patient": patient.pk}).status_code == 403


# The patient's claim page --------------------------------------------------------------------


def test_opening_the_link_changes_nothing(client, offers):
    response = client.get(claim_url(offers[0]))
    assert response.status_code == 200
    assert "Take this slot" in response.content.decode()
    assert Appointment.objects.live().count() == 0
    assert "no-store" in response["Cache-Control"]


def test_posting_takes_the_slot_and_it_shows_on_the_day_calendar(client, receptionist_client, offers):
    response = client.post(claim_url(offers[0]))
    assert response.status_code == 200
    assert "This slot is yours" in response.content.decode()
    appointment = Appointment.objects.live().get()
    assert appointment.patient == offers[0].patient
    day = receptionist_client.get(reverse("scheduling:day"), {"date": "2030-01-08"}).content.decode()
    assert "Maud Arnaud" in day
    # Opening the link again says so, and books nothing more.
    again = client.post(claim_url(offers[0]))
    assert "This slot is yours" in again.content.decode()
    assert Appointment.objects.live().count() == 1


def test_the_second_patient_is_told_it_was_just_taken(client, offers):
    client.post(claim_url(offers[0]))
    shown = client.get(claim_url(offers[1]))
    assert shown.status_code == 409
    assert "just taken" in shown.content.decode()
    response = client.post(claim_url(offers[1]))
    assert response.status_code == 409
    assert "You stay on our waiting list" in response.content.decode()
    assert WaitlistEntry.objects.get(pk=offers[1].entry_id).is_waiting
    assert Appointment.objects.live().count() == 1


def test_a_tampered_link_gets_a_clear_page(client, offers):
    token = make_token(CLAIM_ACTION, offers[0].pk)
    response = client.post(reverse("scheduling:waitlist_claim", args=[token[:-3] + "abc"]))
    assert response.status_code == 400
    assert "This link cannot be used" in response.content.decode()
    confirm_token = make_token("appointment_confirm", offers[0].pk)
    other_action = client.get(reverse("scheduling:waitlist_claim", args=[confirm_token]))
    assert other_action.status_code == 400
    assert Appointment.objects.live().count() == 0


def test_an_expired_offer_gets_a_clear_page(client, offers, frozen_now):
    frozen_now.move_to(at(11, 30))
    response = client.post(claim_url(offers[0]))
    assert response.status_code == 410
    assert "This offer has expired" in response.content.decode()
    assert Appointment.objects.live().count() == 0


def test_a_link_older_than_links_live_is_refused(client, offers, frozen_now, settings):
    settings.EMAIL_LINK_MAX_AGE_DAYS = 1
    token = make_token(CLAIM_ACTION, offers[0].pk)
    frozen_now.shift(datetime.timedelta(days=2))
    response = client.get(reverse("scheduling:waitlist_claim", args=[token]))
    assert response.status_code == 400
    assert "This link has expired." in response.content.decode()


def test_the_claim_page_answers_other_methods_405(client, offers):
    assert client.put(claim_url(offers[0])).status_code == 405
