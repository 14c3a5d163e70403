"""The maintenance recall email's link: the patient picks a free lunchtime slot for the first
session of the next course. GET only lists; POST books through appointment_book."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from clinic.audit import Actor
from messaging.links import make_token
from messaging.models import ScheduledMessage
from scheduling import services
from scheduling.emails import RECALL_BOOK_ACTION
from scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import appointment_type
from tests.treatments.factories import CompletedPlanFactory, SignedConsultationFactory
from treatments import services as treatment_services
from treatments.models import MaintenanceRecall

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

TUESDAY_NOON = datetime.datetime(2030, 1, 8, 12, 0, tzinfo=datetime.UTC)  # GMT: 12:00 in London


@pytest.fixture
def plan(patient):
    return CompletedPlanFactory(consultation=SignedConsultationFactory(patient=patient), maintenance_due_on=MONDAY)


def _url(plan) -> str:
    return reverse("scheduling:public_recall_book", args=[make_token(RECALL_BOOK_ACTION, plan.pk)])


def _slot(practitioner, starts_at: datetime.datetime) -> str:
    return f"{practitioner.pk}|{starts_at.isoformat()}"


def test_opening_the_link_lists_lunchtime_slots_and_books_nothing(client, plan, practitioner):
    response = client.get(_url(plan))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Monday 7 January" in body  # today's lunchtime is still to come at 08:00
    assert f"12:00–12:45 with {practitioner.name}" in body
    assert "09:00–" not in body
    assert "15:00–" not in body
    assert "13:15–14:00" in body
    assert "13:30–" not in body
    assert not Appointment.objects.exists()
    assert not MaintenanceRecall.objects.exists()


def test_posting_a_slot_books_the_first_session_and_marks_the_recall_booked(client, plan, practitioner, patient):
    response = client.post(_url(plan), {"slot": _slot(practitioner, TUESDAY_NOON)})
    assert response.status_code == 200
    assert "You are booked" in response.content.decode()
    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.practitioner, appointment.starts_at) == (
        patient,
        practitioner,
        TUESDAY_NOON,
    )
    assert appointment.appointment_type == appointment_type("Mesotherapy session")
    assert "maintenance recall email" in appointment.notes
    assert appointment.booked_by is None
    assert MaintenanceRecall.objects.get(plan=plan).status == MaintenanceRecall.Status.BOOKED
    assert ScheduledMessage.objects.filter(
        kind=ScheduledMessage.Kind.BOOKING_CONFIRMATION, subject_ref=f"appointment:{appointment.pk}"
    ).exists()
    # The link now says it is booked, and books nothing more.
    again = client.post(_url(plan), {"slot": _slot(practitioner, TUESDAY_NOON + datetime.timedelta(hours=1))})
    assert "already booked" in again.content.decode()
    assert "Tuesday 8 January 2030" in again.content.decode()
    assert Appointment.objects.count() == 1


def test_a_slot_taken_meanwhile_says_just_taken_with_fresh_slots(client, plan, practitioner, other_practitioner):
    rival = CompletedPlanFactory(maintenance_due_on=MONDAY)
    services.appointment_book(
        patient=rival.patient, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        starts_at=TUESDAY_NOON, booked_by=None,
    )  # fmt: skip
    response = client.post(_url(plan), {"slot": _slot(practitioner, TUESDAY_NOON)})
    assert response.status_code == 409
    body = response.content.decode()
    assert "that time was just taken" in body
    assert "Book this time" in body
    assert f"with {other_practitioner.name}" in body
    assert not Appointment.objects.filter(patient=plan.patient).exists()
    assert not MaintenanceRecall.objects.exists()


@pytest.mark.parametrize(
    "slot",
    [
        "nonsense",
        "999999|2030-01-08T12:00:00+00:00",
        "{practitioner}|2030-01-08T09:00:00+00:00",  # not lunchtime
        "{practitioner}|2030-03-08T12:00:00+00:00",  # beyond the weeks offered
        "{practitioner}|2030-01-08T12:00:00",  # no time zone
    ],
)
def test_a_slot_the_page_did_not_offer_is_refused(client, plan, practitioner, slot):
    response = client.post(_url(plan), {"slot": slot.format(practitioner=practitioner.pk)})
    assert response.status_code == 400
    assert "alert-danger" in response.content.decode()
    assert not Appointment.objects.exists()


def test_no_choice_is_explained(client, plan, practitioner):
    response = client.post(_url(plan), {})
    assert response.status_code == 400
    assert "Choose one of the times listed." in response.content.decode()


def test_a_tampered_link_gets_a_friendly_page(client, plan, practitioner):
    response = client.post(
        _url(plan).replace("/maintenance/", "/maintenance/A"), {"slot": _slot(practitioner, TUESDAY_NOON)}
    )
    assert response.status_code == 400
    assert "This link cannot be used" in response.content.decode()
    assert not Appointment.objects.exists()


def test_an_expired_link_gets_a_friendly_page(client, plan, practitioner, settings):
    url = _url(plan)
    later = datetime.datetime(2030, 1, 7, 8, tzinfo=datetime.UTC) + datetime.timedelta(
        days=settings.EMAIL_LINK_MAX_AGE_DAYS + 1
    )
    with time_machine.travel(later, tick=False):
        response = client.get(url)
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_a_link_for_a_course_not_completed_is_refused(client, practitioner):
    plan = CompletedPlanFactory(status="active", maintenance_due_on=None)
    assert client.get(_url(plan)).status_code == 404


def test_a_patient_marked_not_suitable_is_asked_to_call(client, plan, practitioner, receptionist):
    treatment_services.recall_update(plan=plan, status="not_suitable", notes="", actor=Actor(user=receptionist))
    response = client.post(_url(plan), {"slot": _slot(practitioner, TUESDAY_NOON)})
    assert "Please call us" in response.content.decode()
    assert not Appointment.objects.exists()


def test_no_free_lunchtime_says_call_us(client, plan):
    # No practitioner works: nothing to offer.
    body = client.get(_url(plan)).content.decode()
    assert "There is no free lunchtime slot online" in body
