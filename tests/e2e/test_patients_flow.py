import re

import pytest
from playwright.sync_api import expect

from clinic.models import AuditEntry
from patients.models import HistoryItem, Patient
from tests.e2e.conftest import login, logout
from tests.factories import DoctorFactory, ReceptionistFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_receptionist_registers_and_finds_a_patient_then_doctor_adds_an_allergy(live_server, page):
    receptionist = ReceptionistFactory(username="rosa")
    doctor = DoctorFactory(username="amelie")

    login(page, live_server, receptionist)
    page.get_by_role("link", name="Register a patient").first.click()
    page.get_by_label("First name").fill("Hélène")
    page.get_by_label("Last name").fill("Lefèvre")
    page.get_by_label("Date of birth").fill("1985-01-31")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone", exact=True).fill("07911 123456")
    page.get_by_label("Email", exact=True).fill("helene@example.com")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hélène Lefèvre")
    expect(page.get_by_role("link", name="Medical history")).to_have_count(0)

    page.goto(f"{live_server.url}/patients/")
    page.get_by_label("Search patients").fill("lefebvre")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile("Lefèvre, Hélène")).click()
    patient = Patient.objects.get()
    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    assert patient.phone == "+447911123456"

    logout(page, live_server)
    login(page, live_server, doctor)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="Medical history").click()
    page.get_by_role("link", name="Add one entry").click()
    page.get_by_label(re.compile(r"\bCategory\b")).select_option("allergy")
    page.get_by_label(re.compile(r"\bType\b")).select_option("local_anaesthetic")
    page.get_by_label(re.compile(r"\bName\b")).fill("Lidocaine")
    page.get_by_label("Details").fill("Hives after dental anaesthesia")
    page.get_by_role("button", name="Save").click()
    # Listed under the allergies of the safety banner (the rule table's anaesthetic allergy warning).
    allergy = page.locator(".safety-finding", has_text="Allergy to local anaesthetic: Lidocaine")
    expect(allergy).to_be_visible()
    expect(allergy).to_contain_text("Warning")
    expect(allergy).to_contain_text("Hives after dental anaesthesia")

    item = HistoryItem.objects.get()
    assert (item.patient, item.recorded_by, item.category) == (patient, doctor, "allergy")
    assert AuditEntry.objects.filter(user=doctor, patient=patient, action="create").exists()
