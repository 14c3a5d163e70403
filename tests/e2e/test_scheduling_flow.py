import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scheduling import availability
from scheduling.models import Appointment
from tests.e2e.conftest import login
from tests.factories import DoctorFactory, PatientFactory, ReceptionistFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory

# Other transactional tests flush the database: migration_data puts back the roles and the
# appointment types that the migrations made.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]


def test_receptionist_books_a_lunchtime_slot_and_a_course_then_moves_a_session(live_server, page):
    receptionist = ReceptionistFactory(username="rosa")
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Laurent")
    room = RoomFactory(name="Treatment room 1")
    practitioner = PractitionerFactory(user=doctor, default_room=room)
    patient = PatientFactory(first_name="Hélène", last_name="Lefèvre")
    plan = ActivePlanFactory(
        doctor=doctor, patient=patient, consultation__patient=patient, consultation__doctor=doctor, session_count=5
    )
    expected = availability.find_slots(
        appointment_type=appointment_type(), date_from=timezone.localdate(),
        date_to=timezone.localdate() + datetime.timedelta(days=14), patient=patient, limit=1,
    )[0]  # fmt: skip

    login(page, live_server, receptionist)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    # 1. The next free lunchtime slot, from the patient's page: three clicks.
    page.get_by_role("link", name="Book lunchtime slot").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Find a slot for Hélène Lefèvre")
    page.locator(".scheduling-slot-list a").first.click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_text("Booked: Consultation for Hélène Lefèvre")).to_be_visible()
    single = Appointment.objects.get(plan__isnull=True)
    assert single.starts_at == expected.starts_at
    assert availability.lunchtime()[0] <= timezone.localtime(single.starts_at).time() < availability.lunchtime()[1]

    # 2. A five-session course, weekly at the same weekday and time.
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name=re.compile("Book course sessions")).click()
    first_day = timezone.localdate() + datetime.timedelta(days=7 - timezone.localdate().weekday() + 7)  # a Monday
    page.get_by_label("First session on").fill(first_day.isoformat())
    page.locator("#id_at").fill("12:30")
    page.get_by_role("button", name="Propose sessions").click()
    page.get_by_role("button", name="Book sessions 1, 2, 3, 4, 5 of 5").click()
    expect(page.get_by_text("5 sessions (1, 2, 3, 4, 5 of 5) booked for Hélène Lefèvre")).to_be_visible()
    sessions = list(plan.appointments.order_by("plan_session_number"))
    assert [s.plan_session_number for s in sessions] == [1, 2, 3, 4, 5]
    assert {timezone.localtime(s.starts_at).strftime("%a %H:%M") for s in sessions} == {"Mon 12:30"}
    assert {s.practitioner for s in sessions} == {practitioner}

    # 3. Move the third session to another free time.
    third = sessions[2]
    old_start = third.starts_at
    page.locator(f'a[href="/scheduling/appointments/{third.pk}/"]').first.click()
    page.get_by_role("link", name="Move").click()
    page.get_by_role("button", name=re.compile("^Move to ")).first.click()
    expect(page.get_by_text(re.compile("^Moved to "))).to_be_visible()
    third.refresh_from_db()
    assert third.starts_at != old_start
    assert third.changes.filter(action="moved").count() == 1
    assert Appointment.objects.live().count() == 6
