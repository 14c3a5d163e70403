"""The intake questionnaire end to end: the patient fills it in on a phone from the emailed
link, the doctor accepts two answers into the medical history."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from patients.models import HistoryItem, SkinProfile, Source
from scheduling import availability, services
from tests.e2e.conftest import login
from tests.factories import DoctorFactory, PatientFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]
PHONE = {"width": 390, "height": 844}


def test_patient_fills_in_the_questionnaire_on_a_phone_and_the_doctor_accepts_two_answers(live_server, page, settings):
    settings.SITE_URL = live_server.url
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Laurent")
    practitioner = PractitionerFactory(user=doctor, default_room=RoomFactory(name="Treatment room 1"))
    patient = PatientFactory(first_name="Hélène", last_name="Lefèvre", email="helene@example.com")
    slot = availability.find_slots(
        appointment_type=appointment_type(), date_from=timezone.localdate() + datetime.timedelta(days=1),
        date_to=timezone.localdate() + datetime.timedelta(days=14), patient=patient, limit=1,
    )[0]  # fmt: skip
    services.appointment_book(
        patient=patient, practitioner=practitioner, appointment_type=appointment_type(), starts_at=slot.starts_at,
        booked_by=doctor,
    )  # fmt: skip
    message = ScheduledMessage.objects.get(kind=ScheduledMessage.Kind.INTAKE_QUESTIONNAIRE)
    assert message_deliver(message.pk) == "sent"
    link = re.search(r"http://\S+/questionnaire/\S+/", mail.outbox[-1].body).group(0)

    # The patient, on a phone: tick, type, save a draft, come back, send.
    page.set_viewport_size(PHONE)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Before your consultation")
    page.get_by_label("Latex (rubber gloves)", exact=True).check()
    page.get_by_label("Latex (rubber gloves): What happened (optional): the reaction, when").fill("Rash from gloves")
    page.get_by_label("Blood thinners (for example warfarin, aspirin, clopidogrel)", exact=True).check()
    page.get_by_label(re.compile(r"^Blood thinners .*: Name and dose")).fill("Warfarin 5 mg")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#draft-saved")).to_be_visible()
    expect(page.get_by_label("Latex (rubber gloves)", exact=True)).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("button", name="Send to the clinic").click()
    expect(page.locator("#intake-errors")).to_be_visible()
    expect(page.get_by_text("Please answer this question")).to_be_visible()
    page.get_by_label("No", exact=True).first.check()
    page.get_by_label("Daily").check()
    page.get_by_label(re.compile("My answers are complete")).check()
    page.get_by_role("button", name="Send to the clinic").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    assert not HistoryItem.objects.exists()

    # The doctor, at the desk: the medical history points to the answers, two are accepted.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, doctor)
    page.goto(f"{live_server.url}/patients/{patient.pk}/history/")
    page.get_by_role("link", name=re.compile("Questionnaire sent by the patient")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Intake questionnaire")
    page.get_by_role("button", name="Accept Latex").click()
    expect(page.get_by_text("“Latex” was added to the record")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Accept Pregnancy")).click()
    expect(page.get_by_text("was added to the record")).to_be_visible()

    item = HistoryItem.objects.get(patient=patient)
    assert (item.code, item.details, item.source, item.reviewed_by) == (
        "latex",
        "Rash from gloves",
        Source.PATIENT,
        doctor,
    )
    profile = SkinProfile.objects.current().get(patient=patient)
    assert (profile.pregnancy, profile.source, profile.reviewed_by) == ("no", Source.PATIENT, doctor)
    page.goto(f"{live_server.url}/patients/{patient.pk}/history/")
    expect(page.get_by_text("Reported by patient, reviewed by Amélie Laurent")).to_be_visible()
