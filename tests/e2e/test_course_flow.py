import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import ScheduledMessage
from tests.e2e.conftest import login
from tests.factories import DoctorFactory, PatientFactory, ReceptionistFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory
from tests.treatments.factories import ActivePlanFactory, SignedSessionFactory

# Other transactional tests flush the database: migration_data puts back the roles and the
# appointment types that the migrations made.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]


def test_receptionist_books_the_rest_of_a_course_with_two_sessions_given(live_server, page):
    receptionist = ReceptionistFactory(username="rosa")
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Laurent")
    practitioner = PractitionerFactory(user=doctor, default_room=RoomFactory(name="Treatment room 1"))
    patient = PatientFactory(first_name="Hélène", last_name="Lefèvre")
    plan = ActivePlanFactory(
        doctor=doctor, patient=patient, consultation__patient=patient, consultation__doctor=doctor, session_count=5
    )
    for number in (1, 2):
        SignedSessionFactory(plan=plan, number=number)

    login(page, live_server, receptionist)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name=re.compile("Book course sessions")).click()
    expect(page.locator("#course-count")).to_contain_text("2 given, 0 booked, 3 of 5 to book (sessions 3, 4, 5)")
    first_day = timezone.localdate() + datetime.timedelta(days=7 - timezone.localdate().weekday() + 7)  # a Monday
    page.get_by_label("First session on").fill(first_day.isoformat())
    page.locator("#id_at").fill("12:30")
    page.get_by_role("button", name="Propose sessions").click()
    # One row per session still to book, numbered by its place in the course, each a choice.
    expect(page.get_by_role("row")).to_have_count(4)
    for number in (3, 4, 5):
        expect(page.get_by_role("rowheader", name=f"{number} of 5")).to_be_visible()
    fourth = page.get_by_label("Time of session 4")
    fourth.select_option(index=1)
    chosen = fourth.input_value()
    page.get_by_role("button", name="Book sessions 3, 4, 5 of 5").click()
    expect(page.get_by_text("3 sessions (3, 4, 5 of 5) booked for Hélène Lefèvre")).to_be_visible()

    sessions = list(plan.appointments.order_by("plan_session_number"))
    assert [s.plan_session_number for s in sessions] == [3, 4, 5]
    assert sessions[1].starts_at.isoformat() == datetime.datetime.fromisoformat(chosen.split("@")[1]).isoformat()
    assert {s.practitioner for s in sessions} == {practitioner}
    # The patient gets one confirmation for the course, not one per session.
    kinds = list(ScheduledMessage.objects.filter(patient=patient).values_list("kind", flat=True))
    assert kinds.count("course_confirmation") == 1
    assert "booking_confirmation" not in kinds

    # Back on the course page: nothing left to book.
    page.goto(f"{live_server.url}/scheduling/plans/{plan.pk}/course/")
    expect(page.locator("#course-count")).to_contain_text("2 given, 3 booked, 0 of 5 to book")
    expect(page.get_by_role("button", name="Propose sessions")).to_have_count(0)
