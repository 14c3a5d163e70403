import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from clinic.localtime import local_datetime
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from scheduling import services
from scheduling.models import Appointment, WaitlistEntry
from tests.e2e.conftest import login
from tests.factories import DoctorFactory, PatientFactory, ReceptionistFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]


def next_working_day() -> datetime.date:
    day = timezone.localdate() + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def test_a_cancelled_lunchtime_slot_is_offered_claimed_by_link_and_shows_on_the_calendar(live_server, page, browser):
    receptionist = ReceptionistFactory(username="rosa")
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Laurent")
    PractitionerFactory(user=doctor, default_room=RoomFactory(name="Treatment room 1"))
    waiting = PatientFactory(first_name="Hélène", last_name="Lefèvre", email="helene@example.com")
    day = next_working_day()
    cancelled = services.appointment_book(
        patient=PatientFactory(first_name="Chloé", last_name="Martin"), practitioner=doctor.practitioner,
        appointment_type=appointment_type(), starts_at=local_datetime(day, datetime.time(12, 30)), booked_by=None,
    )  # fmt: skip

    # The desk puts Hélène on the waiting list from her page: lunchtime, any practitioner.
    login(page, live_server, receptionist)
    page.goto(f"{live_server.url}/patients/{waiting.pk}/")
    page.get_by_role("link", name="Add to waiting list").click()
    expect(page.get_by_label("Earliest start")).to_have_value("12:00")
    page.get_by_role("button", name="Add to the waiting list").click()
    expect(page.get_by_text("Hélène Lefèvre is on the waiting list")).to_be_visible()
    assert WaitlistEntry.objects.waiting().get().patient == waiting

    # Chloé's appointment is cancelled: the slot is offered to Hélène through the outbox.
    page.goto(f"{live_server.url}/scheduling/appointments/{cancelled.pk}/")
    page.get_by_label("Reason for cancelling").fill("Patient called")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_text("The appointment was cancelled")).to_be_visible()
    row = ScheduledMessage.objects.get(kind=ScheduledMessage.Kind.WAITLIST_OFFER, patient=waiting)
    assert message_deliver(row.pk) == "sent"
    email = mail.outbox[-1]
    link = re.search(r"(https?://\S+/scheduling/email/waitlist/\S+/)", email.body).group(1)

    # Hélène opens the link in her own browser: nothing happens until she presses the button.
    patient_page = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
    patient_page.goto(live_server.url + urlsplit(link).path)
    expect(patient_page.get_by_role("heading", name="A free slot for you")).to_be_visible()
    assert Appointment.objects.live().count() == 0
    patient_page.get_by_role("button", name="Take this slot").click()
    expect(patient_page.get_by_text("This slot is yours")).to_be_visible()
    patient_page.context.close()

    booked = Appointment.objects.live().get()
    assert (booked.patient, booked.starts_at) == (waiting, cancelled.starts_at)
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.BOOKED

    # The desk sees it on the day calendar, and the claim on the waiting list page.
    page.goto(f"{live_server.url}/scheduling/?date={day.isoformat()}")
    expect(page.get_by_role("link", name=re.compile("Hélène Lefèvre")).first).to_be_visible()
    page.goto(f"{live_server.url}/scheduling/waitlist/")
    expect(page.get_by_text("Took the slot")).to_be_visible()
