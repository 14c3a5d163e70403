import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from clinic.models import AuditEntry
from patients.models import HistoryItem
from tests.e2e.conftest import login
from tests.factories import (
    ConsentRecordFactory,
    DoctorFactory,
    HistoryItemFactory,
    PatientFactory,
    SkinProfileFactory,
)
from tests.treatments.factories import BatchFactory, IngredientFactory, ProductFactory
from treatments.models import Batch, Consultation, TreatmentPlan, TreatmentSession

# Transactional: the browser talks to live_server in another thread. The roles and the formulary
# made by data migrations are put back after other tests' flushes (tests/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_doctor_records_consultation_plans_a_course_and_records_the_first_session(live_server, page):
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Roux")
    patient = PatientFactory(first_name="Claire", last_name="Dubois")
    SkinProfileFactory(patient=patient, recorded_by=doctor)
    # Consent to mesotherapy is a gate for starting the course and signing sessions.
    ConsentRecordFactory(patient=patient, witnessed_by=doctor)
    HistoryItemFactory(
        patient=patient, recorded_by=doctor, category="medication", code=HistoryItem.Code.ANTICOAGULANT, name="Warfarin"
    )
    HistoryItemFactory(
        patient=patient,
        recorded_by=doctor,
        category="allergy",
        code=HistoryItem.Code.INGREDIENT,
        name="Sodium hyaluronate",
    )
    product = ProductFactory(name="Hydra cocktail", ingredients=[IngredientFactory(name="Sodium hyaluronate 1%")])
    batch = BatchFactory(product=product, lot_number="HC2026A", quantity_in_stock=Decimal("20.00"))

    login(page, live_server, doctor)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    page.get_by_role("link", name="New consultation").click()
    page.get_by_label("Dehydration").check()
    page.get_by_label("Fine lines").check()
    page.get_by_label("The patient's goals").fill("Fresher, more hydrated skin")
    page.get_by_label("Examination findings").fill("Dehydrated cheeks, fine lines around the eyes")
    page.get_by_label("Medical history reviewed with the patient").check()
    page.get_by_label("What changed in the medical history").fill("Started warfarin in January")
    page.get_by_label("Skin routine reviewed with the patient").check()
    page.get_by_label("Assessment").fill("Good candidate for a hydrating course")
    page.get_by_label("Suitability").select_option("suitable")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("The consultation is signed and locked.")).to_be_visible()

    page.get_by_role("link", name="Make a treatment plan").click()
    expect(page.get_by_text("Anticoagulant: Warfarin")).to_be_visible()
    page.get_by_label("Number of sessions").fill("5")
    page.get_by_label("Maintenance interval (months)").fill("6")
    page.get_by_label("Technique").select_option("needle_syringe")
    expect(page.get_by_text("Allergy: Sodium hyaluronate")).to_have_count(0)
    page.get_by_label("Product 1", exact=True).select_option(str(product.pk))
    # The safety check follows the cocktail as it is chosen.
    expect(page.locator("#plan-safety")).to_contain_text("Allergy: Sodium hyaluronate")
    expect(page.locator("#plan-safety")).to_contain_text("Blocks treatment")
    page.get_by_label("Amount per session of product 1 (ml)").fill("2")
    # The face diagram ticks the matching checkbox.
    page.locator('svg[data-face-diagram] [data-area="forehead"]').click()
    expect(page.get_by_label("Forehead", exact=True)).to_be_checked()
    page.get_by_label("Left cheek", exact=True).check()
    page.get_by_role("button", name="Propose the plan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mesotherapy course: 5 sessions")
    expect(page.get_by_text("0 done, 5 left")).to_be_visible()
    page.get_by_role("button", name="Start the course").click()
    expect(page.get_by_text(re.compile("Allergy: Sodium hyaluronate blocks treatment"))).to_be_visible()
    page.get_by_label("Reason to go ahead despite: Allergy: Sodium hyaluronate").fill(
        "Patch test with this product negative on 3 March"
    )
    page.get_by_role("button", name="Start the course").click()
    expect(page.get_by_text("The course has started.")).to_be_visible()

    page.get_by_role("link", name="Record session 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Record session 1 of 5")
    warning = page.locator(".safety-finding", has_text="Anticoagulant: Warfarin")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Warning")
    expect(warning).to_contain_text("bruising")
    overridden = page.locator(".safety-finding", has_text="Allergy: Sodium hyaluronate")
    expect(overridden).to_contain_text("Overridden")
    expect(overridden).to_contain_text("Patch test with this product negative")
    # Pre-filled from the plan: the cocktail's product, its only usable batch, the planned amount.
    expect(page.get_by_label("Batch of Hydra cocktail")).to_have_value(str(batch.pk))
    expect(page.get_by_label("Amount of Hydra cocktail (ml)")).to_have_value("2.00")
    page.get_by_label("Pain score (0-10)").fill("3")
    page.get_by_label("Bruising").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session 1 of 5")
    page.get_by_role("button", name="Review and sign").click()
    expect(page.get_by_role("heading", name="Check what will be locked")).to_be_visible()
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text(re.compile("Session 1 is signed and locked"))).to_be_visible()

    consultation = Consultation.objects.get()
    plan = TreatmentPlan.objects.get()
    session = TreatmentSession.objects.get()
    assert consultation.is_signed
    assert (plan.status, plan.session_count, sorted(plan.areas)) == ("active", 5, ["cheek_left", "forehead"])
    assert (session.number, session.is_signed, session.reactions) == (1, True, ["bruising"])
    assert Batch.objects.get(pk=batch.pk).quantity_in_stock == Decimal("18.00")
    assert AuditEntry.objects.filter(user=doctor, patient=patient, action="sign").count() == 2
    assert AuditEntry.objects.filter(user=doctor, patient=patient, action="override").count() == 1


def test_a_refused_course_start_is_shown_at_the_top_and_takes_the_focus(live_server, page):
    from tests.treatments.factories import TreatmentPlanFactory

    doctor = DoctorFactory(username="bruno")
    plan = TreatmentPlanFactory(doctor=doctor, consultation__doctor=doctor, consultation__consent=False)
    SkinProfileFactory(patient=plan.patient, recorded_by=doctor)
    login(page, live_server, doctor)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.get_by_role("button", name="Start the course").click()
    refusal = page.locator("[data-refusal]")
    expect(refusal).to_be_focused()
    expect(refusal).to_contain_text("The course was not started")
    expect(refusal).to_contain_text("rule consent_required")
    assert TreatmentPlan.objects.get().status == "proposed"
