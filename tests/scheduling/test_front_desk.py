"""The front desk's booking: the slot finder past its first page and without a patient, the
move page, courses that count their sessions, and what the patient is told."""

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.timezone import localtime

from clinic.audit import Actor
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from scheduling import availability, services
from scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import AppointmentFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory, SignedSessionFactory, TreatmentPlanFactory
from treatments.models import TreatmentPlan
from treatments.services import plan_cancel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC
Kind = ScheduledMessage.Kind
Status = ScheduledMessage.Status
# The course page with its proposal; one of them loads the second-factor device (django-otp).
COURSE_PAGE_QUERIES = 27


def at(hour: int, minute: int = 0, days: int = 0) -> datetime.datetime:
    day = MONDAY + datetime.timedelta(days=days)
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def finder(client, **params):
    query = {
        "appointment_type": appointment_type().pk, "date_from": "2030-01-07", "date_to": "2030-01-21",
        "window": "lunch", **params,
    }  # fmt: skip
    return client.get(reverse("scheduling:find"), query)


@pytest.fixture
def plan(practitioner, patient):
    return ActivePlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient, session_count=5)


def course_params(practitioner, first_day="2030-01-14", at_time="12:00") -> dict:
    return {
        "practitioner": practitioner.pk, "appointment_type": appointment_type("Mesotherapy session").pk,
        "first_day": first_day, "at": at_time,
    }  # fmt: skip


# The slot finder -------------------------------------------------------------------------


def test_a_two_week_search_says_how_much_it_shows_and_shows_more(receptionist_client, practitioner):
    response = finder(receptionist_client)
    slots = response.context["slots"]
    assert len(slots) == 20
    body = response.content.decode()
    last_day = localtime(slots[-1].starts_at)
    assert f"The first 20 free slots, covering Mon 7 Jan to {last_day:%a} {last_day.day} Jan" in body
    assert "of your search (7 Jan to 21 Jan); there are more." in body
    more = re.search(r'href="\?([^"]+)#slots-summary">Show more slots', body).group(1).replace("&amp;", "&")
    assert "shown=40" in more
    second = receptionist_client.get(f"{reverse('scheduling:find')}?{more}")
    assert len(second.context["slots"]) == 40
    assert second.context["slots"][:20] == slots
    assert localtime(second.context["slots"][-1].starts_at).date() > last_day.date()


def test_a_search_shown_whole_says_so_without_more(receptionist_client, practitioner):
    response = finder(receptionist_client, date_from="2030-01-08", date_to="2030-01-08")
    body = response.content.decode()
    count = len(response.context["slots"])
    assert 0 < count < 20
    assert f"All {count} free slots from Tue 8 Jan to Tue 8 Jan." in body
    assert "Show more slots" not in body


def test_asking_for_too_many_slots_is_a_form_error(receptionist_client, practitioner):
    response = finder(receptionist_client, shown="5000")
    assert "At most 400 slots are shown at once" in response.content.decode()
    assert response.context["slots"] == []


def test_slots_without_a_patient_lead_to_choosing_the_patient(receptionist_client, practitioner, patient):
    body = finder(receptionist_client).content.decode()
    assert "disabled" not in body
    link = re.search(r'href="(/scheduling/book/patient/[^"]+)"', body).group(1).replace("&amp;", "&")
    step = receptionist_client.get(link)
    assert step.status_code == 200
    assert "Choose the patient" in step.content.decode()
    found = receptionist_client.get(f"{link}&q=Doe")
    assert found.context["patients"] == [patient]
    book_link = re.search(r'href="(/scheduling/book/\?patient=[^"]+)"', found.content.decode()).group(1)
    confirm = receptionist_client.get(book_link.replace("&amp;", "&"))
    assert "Confirm booking" in confirm.content.decode()
    assert confirm.context["patient"] == patient
    assert confirm.context["starts_at"] == at(12)


def test_choosing_the_patient_for_a_broken_slot_says_so(receptionist_client, practitioner):
    response = receptionist_client.get(
        reverse("scheduling:book_choose_patient"),
        {"practitioner": practitioner.pk, "appointment_type": appointment_type().pk, "start": "not a time"},
    )
    assert response.status_code == 400
    assert "The slot&#x27;s time is not valid" in response.content.decode()


def test_a_manager_sees_slots_but_cannot_pick_one(manager_client, practitioner):
    body = finder(manager_client).content.decode()
    assert "/scheduling/book/patient/" not in body
    assert "disabled" in body


def test_the_move_page_never_offers_the_current_time(doctor_client, practitioner, patient):
    appointment = AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=at(12)
    )
    response = doctor_client.get(reverse("scheduling:appointment_move", args=[appointment.pk]))
    offered = [slot.starts_at for slot in response.context["alternatives"]]
    assert offered
    assert at(12) not in offered
    assert at(12, 15) in offered  # overlapping its own current time is fine: it moves out of the way
    slots = availability.find_slots(
        appointment_type=appointment.appointment_type, date_from=MONDAY, date_to=MONDAY,
        practitioner=practitioner, exclude_appointment=appointment,
    )  # fmt: skip
    assert at(12) not in [slot.starts_at for slot in slots]


# Courses that count ----------------------------------------------------------------------


def test_a_course_with_two_signed_sessions_books_sessions_three_to_five(receptionist_client, plan, practitioner):
    SignedSessionFactory(plan=plan, number=1)
    SignedSessionFactory(plan=plan, number=2)
    url = reverse("scheduling:course_book", args=[plan.pk])
    page = receptionist_client.get(url, course_params(practitioner))
    body = page.content.decode()
    assert "2 given, 0 booked, 3 of 5 to book</strong> (sessions 3, 4, 5)" in body
    proposal = page.context["proposal"]
    assert [session.number for session in proposal] == [3, 4, 5]
    assert "Book sessions 3, 4, 5 of 5" in body
    data = {
        **course_params(practitioner),
        **{f"session_{p.number}": f"{p.slot.room.pk}@{p.slot.iso_start}" for p in proposal},
    }
    assert receptionist_client.post(url, data).status_code == 302
    assert sorted(plan.appointments.values_list("plan_session_number", flat=True)) == [3, 4, 5]
    again = receptionist_client.get(url, course_params(practitioner)).content.decode()
    assert "2 given, 3 booked, 0 of 5 to book" in again
    assert "Every session of this course is given or booked." in again


def test_the_service_refuses_a_signed_session(plan, practitioner):
    SignedSessionFactory(plan=plan, number=1)
    with pytest.raises(ValidationError) as refused:
        services.course_book(
            plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            sessions=[(1, at(12, days=7), None), (2, at(12, days=14), None)], booked_by=practitioner.user,
        )  # fmt: skip
    assert refused.value.messages == ["Session 1 was already given (its record is signed)."]
    assert not plan.appointments.exists()


def test_each_week_offers_a_choice_and_the_chosen_time_is_booked(receptionist_client, plan, practitioner):
    url = reverse("scheduling:course_book", args=[plan.pk])
    page = receptionist_client.get(url, course_params(practitioner))
    proposal = page.context["proposal"]
    second = proposal[1]
    assert len(second.choices) > 1
    assert f'<select class="form-select" id="session-{second.number}" name="session_{second.number}">' in (
        page.content.decode()
    )
    chosen = second.choices[2]
    data = {
        **course_params(practitioner),
        **{f"session_{p.number}": f"{p.slot.room.pk}@{p.slot.iso_start}" for p in proposal},
    }
    data[f"session_{second.number}"] = f"{chosen.room.pk}@{chosen.iso_start}"
    assert receptionist_client.post(url, data).status_code == 302
    assert plan.appointments.get(plan_session_number=second.number).starts_at == chosen.starts_at


def test_a_taken_week_stays_in_lunchtime(plan, practitioner):
    # Monday's whole lunchtime is taken in week 2: the proposal moves to another lunchtime.
    for hour, minute in ((12, 0), (13, 0)):
        AppointmentFactory(practitioner=practitioner, starts_at=at(hour, minute, days=14))
    proposal = availability.course_proposal(
        plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        first_day=MONDAY + datetime.timedelta(days=7), at=datetime.time(12, 0),
    )  # fmt: skip
    week = proposal[1]
    assert week.conflict
    lunch_start, lunch_end = availability.lunchtime()
    for slot in week.choices:
        assert lunch_start <= localtime(slot.starts_at).time()
        assert localtime(slot.ends_at).time() <= lunch_end
    assert localtime(week.slot.starts_at).time() == datetime.time(12, 0)  # the wanted hour, the nearest day


@pytest.mark.parametrize("status", [TreatmentPlan.Status.CANCELLED, TreatmentPlan.Status.COMPLETED])
def test_a_closed_plans_course_cannot_be_booked(receptionist_client, practitioner, patient, status):
    extra = {"cancelled_at": at(7), "cancellation_reason": "x"} if status == "cancelled" else {}
    if status == "completed":
        extra = {"maintenance_due_on": MONDAY}
    plan = TreatmentPlanFactory(
        doctor=practitioner.user, patient=patient, consultation__patient=patient, status=status, **extra
    )
    url = reverse("scheduling:course_book", args=[plan.pk])
    page = receptionist_client.get(url, course_params(practitioner))
    body = page.content.decode()
    assert f"This treatment plan is {status}: its sessions can no longer be booked." in body
    assert "Propose sessions" not in body
    data = {**course_params(practitioner), "session_1": at(12, days=7).isoformat()}
    response = receptionist_client.post(url, data)
    assert response.status_code == 409
    with pytest.raises(ValidationError, match=f"This treatment plan is {status}"):
        services.course_book(
            plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            sessions=[(1, at(12, days=7), None)], booked_by=practitioner.user,
        )  # fmt: skip
    assert not Appointment.objects.exists()


def _book_course(plan, practitioner, numbers=(1, 2, 3)) -> list[Appointment]:
    return services.course_book(
        plan=plan, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        sessions=[(n, at(12, days=7 * n), None) for n in numbers], booked_by=practitioner.user,
    )  # fmt: skip


def test_cancelling_a_plan_cancels_its_future_sessions_and_tells_the_patient(plan, practitioner, doctor):
    past = AppointmentFactory(
        practitioner=practitioner, patient=plan.patient, plan=plan, plan_session_number=5,
        starts_at=at(9) - datetime.timedelta(days=1), status=Appointment.Status.COMPLETED,
    )  # fmt: skip
    booked = _book_course(plan, practitioner)
    plan_cancel(plan=plan, reason="Adverse reaction", actor=Actor(user=doctor))
    assert set(plan.appointments.exclude(pk=past.pk).values_list("status", flat=True)) == {"cancelled"}
    assert Appointment.objects.get(pk=past.pk).status == Appointment.Status.COMPLETED
    for appointment in booked:
        appointment.refresh_from_db()
        assert appointment.cancel_reason == "The treatment plan was cancelled."  # nothing clinical
    reminders = ScheduledMessage.objects.filter(kind=Kind.APPOINTMENT_REMINDER)
    assert set(reminders.values_list("status", flat=True)) == {Status.CANCELLED}
    notices = ScheduledMessage.objects.filter(kind=Kind.APPOINTMENT_CANCELLED)
    assert notices.count() == 1
    assert message_deliver(notices.get().pk) == "sent"
    email = mail.outbox[-1]
    assert email.subject == "Your course sessions are cancelled"
    assert "these 3 sessions" in email.body
    assert "Monday 14 January 2030, 12:00" in email.body
    assert "Monday 28 January 2030, 12:00" in email.body
    assert "Adverse reaction" not in email.body


# What the patient is told ---------------------------------------------------------------


def test_a_course_sends_one_confirmation_with_every_session_in_one_calendar_file(plan, practitioner):
    booked = _book_course(plan, practitioner)
    assert not ScheduledMessage.objects.filter(kind=Kind.BOOKING_CONFIRMATION).exists()
    assert ScheduledMessage.objects.filter(kind=Kind.APPOINTMENT_REMINDER).count() == 3  # reminders stay
    confirmation = ScheduledMessage.objects.get(kind=Kind.COURSE_CONFIRMATION)
    assert message_deliver(confirmation.pk) == "sent"
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.subject == "Your course is booked: 3 sessions from 14 January"
    for number in (1, 2, 3):
        assert f"Session {number} of 5" in email.body
    assert len(email.attachments) == 1
    filename, payload, mimetype = email.attachments[0]
    assert (filename, mimetype) == (f"course-{plan.pk}.ics", "text/calendar")
    calendar = payload.decode() if isinstance(payload, bytes) else payload
    assert calendar.count("BEGIN:VEVENT") == 3
    for appointment in booked:
        assert f"appointment-{appointment.pk}@" in calendar


def test_staff_cancelling_tells_the_patient_and_the_patient_link_does_not(patient, practitioner, receptionist):
    consultation = appointment_type()
    first = services.appointment_book(
        patient=patient, practitioner=practitioner, appointment_type=consultation, starts_at=at(12, days=2),
        booked_by=receptionist,
    )  # fmt: skip
    services.appointment_cancel(appointment=first, reason="Doctor ill", cancelled_by=receptionist)
    notice = ScheduledMessage.objects.get(kind=Kind.APPOINTMENT_CANCELLED)
    assert notice.subject_ref == first.subject_ref
    assert message_deliver(notice.pk) == "sent"
    email = mail.outbox[-1]
    assert email.subject == "Your appointment on 9 January at 12:00 is cancelled"
    assert "We have cancelled this appointment" in email.body
    assert "/scheduling/email/" not in email.body  # no confirm or cancel link for it
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "We have cancelled this appointment" in html

    second = services.appointment_book(
        patient=patient, practitioner=practitioner, appointment_type=consultation, starts_at=at(12, days=3),
        booked_by=receptionist,
    )  # fmt: skip
    services.appointment_cancel(appointment=second, reason="From the email link", cancelled_by=None)
    assert not ScheduledMessage.objects.filter(kind=Kind.APPOINTMENT_CANCELLED, subject_ref=second.subject_ref).exists()


def test_cancel_from_the_appointment_page_queues_the_notice(receptionist_client, practitioner, patient):
    appointment = AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=at(12, days=2))
    receptionist_client.post(reverse("scheduling:appointment_cancel", args=[appointment.pk]), {"reason": "Closed"})
    assert ScheduledMessage.objects.filter(
        kind=Kind.APPOINTMENT_CANCELLED, subject_ref=appointment.subject_ref, status=Status.PENDING
    ).exists()


def test_the_patient_panel_counts_given_sessions(receptionist_client, plan, practitioner, patient):
    SignedSessionFactory(plan=plan, number=1)
    SignedSessionFactory(plan=plan, number=2)
    _book_course(plan, practitioner, numbers=(3,))
    page = receptionist_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Book course sessions (2 given, 1 booked, 2 of 5 to book)" in page


@pytest.mark.parametrize("count", [5, 150])
def test_the_course_page_query_budget_does_not_grow(
    receptionist_client, plan, practitioner, django_assert_max_num_queries, count
):
    for index in range(count):
        start = at(9, days=7 + index // 20) + datetime.timedelta(minutes=15 * (index % 20))
        AppointmentFactory(practitioner=practitioner, starts_at=start, ends_at=start + datetime.timedelta(minutes=10))
    url = reverse("scheduling:course_book", args=[plan.pk])
    with django_assert_max_num_queries(COURSE_PAGE_QUERIES):
        response = receptionist_client.get(url, course_params(practitioner))
    assert len(response.context["proposal"]) == 5


def test_a_refused_move_never_offers_the_current_time_back(doctor_client, practitioner, patient):
    appointment = AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=at(12, 15)
    )
    AppointmentFactory(practitioner=practitioner, starts_at=at(13))  # the time asked for is taken
    response = doctor_client.post(
        reverse("scheduling:appointment_move", args=[appointment.pk]),
        {"day": "2030-01-07", "at": "13:00", "practitioner": practitioner.pk},
    )
    offered = [slot.starts_at for slot in response.context["alternatives"]]
    assert offered
    assert at(12, 15) not in offered
    appointment.refresh_from_db()
    assert appointment.starts_at == at(12, 15)


def test_the_patient_panel_lists_upcoming_appointments_in_one_query(receptionist_client, practitioner, patient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page_url = reverse("patients:detail", args=[patient.pk])
    AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=at(10, days=1))
    with CaptureQueriesContext(connection) as one:
        receptionist_client.get(page_url)
    AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=at(11, days=2), plan_session_number=None)
    AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=at(12, days=3))
    with CaptureQueriesContext(connection) as three:
        page = receptionist_client.get(page_url).content.decode()
    # Each row's type, practitioner and status come with the one query (nothing loaded row by row).
    assert len(three) == len(one)
    assert page.count("scheduling-type-bar") == 3
    assert page.count(f"with {practitioner.name}") == 3
    assert page.count("scheduling-status-booked") == 3
    assert page.count('data-type-colour="') == 3


def test_the_plan_page_lists_its_booked_sessions_in_one_query(doctor, plan, practitioner):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(doctor)
    page_url = plan.get_absolute_url()
    _book_course(plan, practitioner, numbers=(1,))
    with CaptureQueriesContext(connection) as one:
        client.get(page_url)
    _book_course(plan, practitioner, numbers=(2, 3))
    with CaptureQueriesContext(connection) as three:
        page = client.get(page_url).content.decode()
    assert len(three) == len(one)
    for number in (1, 2, 3):
        assert f"Session {number}: " in page
    assert page.count(f"with {practitioner.name}") == 3
    assert page.count("scheduling-status-booked") == 3
