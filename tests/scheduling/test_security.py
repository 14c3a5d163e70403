"""Email links act only on the appointment time they were sent for; courses are booked only
for open plans; calendar files survive names typed with line breaks."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from messaging import links
from scheduling import services
from scheduling.emails import CANCEL_ACTION, CONFIRM_ACTION, cancel_url, confirm_url
from scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import AppointmentFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory, TreatmentPlanFactory
from treatments.models import TreatmentPlan

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def at(hour: int, minute: int = 0, days: int = 0) -> datetime.datetime:
    day = MONDAY + datetime.timedelta(days=days)
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def booked(frozen_now, patient, practitioner):
    return services.appointment_book(
        patient=patient, practitioner=practitioner, appointment_type=appointment_type(), starts_at=at(12, 30, days=3),
        booked_by=practitioner.user,
    )  # fmt: skip


# Email links bound to the start --------------------------------------------------------


@pytest.mark.parametrize("make_url", [confirm_url, cancel_url])
def test_a_link_sent_before_a_move_does_not_act_on_the_new_time(client, booked, practitioner, make_url):
    old_link = path_of(make_url(booked))
    services.appointment_move(appointment=booked, starts_at=at(13, 0, days=4), moved_by=practitioner.user)

    page = client.get(old_link)
    assert page.status_code == 410
    body = page.content.decode()
    assert "This link is for an earlier time of your appointment" in body
    assert "Friday 11 January 2030 at 13:00" in body  # where it is now
    assert "no-store" in page["Cache-Control"]

    posted = client.post(old_link)
    assert posted.status_code == 410
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    assert not booked.changes.filter(action__in=["cancelled", "status"]).exists()


def test_links_sent_after_the_move_work(client, booked, practitioner):
    booked = services.appointment_move(appointment=booked, starts_at=at(13, 0, days=4), moved_by=practitioner.user)
    assert "your appointment is confirmed" in client.post(path_of(confirm_url(booked))).content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED
    assert "Your appointment is cancelled" in client.post(path_of(cancel_url(booked))).content.decode()


def test_a_link_for_a_time_moved_away_and_back_works_again(client, booked, practitioner):
    link = path_of(cancel_url(booked))
    original = booked.starts_at
    booked = services.appointment_move(appointment=booked, starts_at=at(13, 0, days=4), moved_by=practitioner.user)
    assert client.get(link).status_code == 410
    services.appointment_move(appointment=booked, starts_at=original, moved_by=practitioner.user)
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("action", [CONFIRM_ACTION, CANCEL_ACTION])
def test_a_link_without_a_start_is_refused_once_the_appointment_moved(client, booked, practitioner, action):
    """Links sent before links carried the start: honoured only for a never-moved appointment."""
    name = "scheduling:public_confirm" if action == CONFIRM_ACTION else "scheduling:public_cancel"
    legacy = reverse(name, args=[links.make_token(action, booked.pk)])
    assert client.get(legacy).status_code == 200
    services.appointment_move(appointment=booked, starts_at=at(13, 0, days=4), moved_by=practitioner.user)
    assert client.get(legacy).status_code == 410
    assert client.post(legacy).status_code == 410
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_a_link_with_a_malformed_version_is_refused(client, booked):
    token = links.signing.dumps({"a": CANCEL_ACTION, "id": booked.pk, "v": 12}, salt=links.SALT, compress=True)
    response = client.get(reverse("scheduling:public_cancel", args=[token]))
    assert response.status_code == 400


# Courses only for open plans -----------------------------------------------------------


@pytest.fixture
def course_params(practitioner):
    return {
        "practitioner": practitioner.pk,
        "appointment_type": appointment_type("Mesotherapy session").pk,
        "first_day": "2030-01-07",
        "at": "12:00",
    }


def close(plan: TreatmentPlan, status: str) -> TreatmentPlan:
    if status == TreatmentPlan.Status.CANCELLED:
        closing = {"cancelled_at": timezone.now(), "cancellation_reason": "Patient changed their mind"}
    else:
        closing = {"maintenance_due_on": timezone.localdate() + datetime.timedelta(days=180)}
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=status, **closing)
    plan.refresh_from_db()
    return plan


@pytest.mark.parametrize("status", [TreatmentPlan.Status.CANCELLED, TreatmentPlan.Status.COMPLETED])
def test_course_booking_service_refuses_a_closed_plan(frozen_now, patient, practitioner, status):
    plan = close(ActivePlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient), status)
    with pytest.raises(ValidationError, match=f"This treatment plan is {status}"):
        services.course_book(
            plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            sessions=[(1, at(12, 0), None)], booked_by=practitioner.user,
        )  # fmt: skip
    assert not Appointment.objects.exists()


def test_the_service_reads_the_plan_status_from_the_database(frozen_now, patient, practitioner):
    """A plan cancelled since the page was loaded (a stale object in hand) is still refused."""
    plan = ActivePlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient)
    close(TreatmentPlan.objects.get(pk=plan.pk), TreatmentPlan.Status.CANCELLED)
    assert plan.status == TreatmentPlan.Status.ACTIVE
    with pytest.raises(ValidationError, match="cancelled"):
        services.course_book(
            plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            sessions=[(1, at(12, 0), None)], booked_by=practitioner.user,
        )  # fmt: skip


def test_a_proposed_plan_can_have_its_course_booked(frozen_now, patient, practitioner):
    plan = TreatmentPlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient)
    assert plan.status == TreatmentPlan.Status.PROPOSED
    booked = services.course_book(
        plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        sessions=[(1, at(12, 0), None)], booked_by=practitioner.user,
    )  # fmt: skip
    assert len(booked) == 1


@pytest.mark.parametrize("status", [TreatmentPlan.Status.CANCELLED, TreatmentPlan.Status.COMPLETED])
def test_course_booking_page_says_a_closed_plan_cannot_be_booked(
    frozen_now, receptionist_client, patient, practitioner, course_params, status
):
    plan = close(ActivePlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient), status)
    url = reverse("scheduling:course_book", args=[plan.pk])

    page = receptionist_client.get(url, course_params)
    assert page.status_code == 200
    body = page.content.decode()
    assert f"This treatment plan is {status}: its sessions can no longer be booked." in body
    assert "Propose sessions" not in body
    assert not page.context["proposal"]

    response = receptionist_client.post(url, {**course_params, "session_1": at(12, 0).isoformat()})
    assert response.status_code == 409
    assert f"This treatment plan is {status}" in response.content.decode()
    assert not Appointment.objects.exists()


# Calendar files ------------------------------------------------------------------------


@pytest.fixture
def awkward_names(practitioner, patient):
    user = practitioner.user
    user.first_name, user.last_name = "Ada\nBEGIN:VEVENT", "Okafor\r\n\x07\x1b"
    user.save()
    patient.first_name = "Jane\nDoe"
    patient.save()
    return AppointmentFactory(patient=patient, practitioner=practitioner, starts_at=at(10, 0, days=1))


def test_feed_with_a_newline_in_a_staff_name_is_a_valid_calendar(frozen_now, client, practitioner, awkward_names):
    response = client.get(reverse("scheduling:feed", args=[practitioner.feed_token]))
    assert response.status_code == 200
    assert b"\x07" not in response.content
    assert b"\x1b" not in response.content
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-calname"]).endswith("Ada BEGIN:VEVENT Okafor")
    events = calendar.walk("VEVENT")
    assert len(events) == 1  # the name did not start an event of its own
    assert str(events[0]["summary"]) == "Consultation: Jane Doe D."


def test_appointment_file_with_a_newline_in_a_staff_name(receptionist_client, awkward_names):
    response = receptionist_client.get(reverse("scheduling:appointment_ics", args=[awkward_names.pk]))
    assert response.status_code == 200
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert str(event["description"]).startswith("With Ada BEGIN:VEVENT Okafor")
    assert "\n" not in str(event["description"])
    assert len(Calendar.from_ical(response.content).walk("VEVENT")) == 1
