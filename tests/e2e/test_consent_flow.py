import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from patients.models import ConsentDocument, ConsentRecord
from tests.e2e.conftest import login
from tests.factories import DoctorFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, BatchFactory
from treatments.models import PlanProduct, TreatmentSession

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def draw_signature(page) -> None:
    """The patient signs with the mouse: press, a few moves, release, and a second stroke."""
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()  # the mouse acts on the viewport
    box = canvas.bounding_box()
    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(left + width * 0.1, top + height * 0.7)
    page.mouse.down()
    for step in range(1, 13):
        x = left + width * (0.1 + 0.065 * step)
        y = top + height * (0.3 if step % 2 else 0.7)
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    page.mouse.move(left + width * 0.15, top + height * 0.85)
    page.mouse.down()
    page.mouse.move(left + width * 0.8, top + height * 0.8, steps=10)
    page.mouse.up()


def open_consent(page, live_server, patient, title: str) -> None:
    page.goto(f"{live_server.url}/patients/{patient.pk}/history/")
    page.get_by_role("link", name="Sign a consent").click()
    document = ConsentDocument.objects.current().get(title=title)
    page.get_by_label("Consent").select_option(
        label=f"{title} (version {document.version}, from {document.effective_from:%d %b %Y})"
    )
    page.get_by_role("button", name="Show the text").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)


def test_patient_signs_the_consent_on_the_pad_then_the_doctor_records_a_session(live_server, page):
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Roux")
    patient = PatientFactory(first_name="Claire", last_name="Dubois")
    SkinProfileFactory(patient=patient, recorded_by=doctor)
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor, consultation__patient=patient)
    cocktail = PlanProduct.objects.get(plan=plan).product
    batch = BatchFactory(product=cocktail, lot_number="HC2026A", quantity_in_stock=Decimal("20.00"))

    login(page, live_server, doctor)
    open_consent(page, live_server, patient, "Consent to facial mesotherapy")
    expect(page.get_by_text("I agree to facial mesotherapy", exact=False)).to_be_visible()
    expect(page.get_by_text("The pad is empty.")).to_be_visible()
    draw_signature(page)
    expect(page.get_by_text("Signature drawn.")).to_be_visible()
    page.get_by_label("Your full name").fill("Claire Dubois")
    page.get_by_role("button", name="I agree and sign").click()

    expect(page.get_by_text("The consent was signed and recorded.")).to_be_visible()
    consent = ConsentRecord.objects.latest("pk")  # the one just signed on the pad
    assert (consent.patient, consent.signed_name, consent.witnessed_by) == (patient, "Claire Dubois", doctor)
    assert consent.signature_hash_matches
    expect(page.locator("[data-consent-hash]")).to_have_text(consent.signature_sha256)
    expect(page.get_by_text("Checked now: matches")).to_be_visible()
    signature = page.get_by_role("img", name="Signature drawn by Claire Dubois")
    expect(signature).to_be_visible()
    # The image loads after the page: wait for it rather than read a width of 0 too early.
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=signature.element_handle())
    assert signature.evaluate("image => image.naturalWidth") == 600  # served by the permission-checked view

    page.get_by_role("link", name="Printable record").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Consent record")
    expect(page.locator("[data-consent-hash]")).to_have_text(consent.signature_sha256)

    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.get_by_role("link", name="Record session 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Record session 1 of 5")
    expect(page.get_by_text("No informed consent on file")).to_have_count(0)
    # Pre-filled from the plan: its cocktail's only usable batch and the planned amount.
    expect(page.get_by_label(f"Batch of {cocktail.name}")).to_have_value(str(batch.pk))
    page.get_by_label("Pain score (0-10)").fill("2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session 1 of 5")
    page.get_by_role("button", name="Review and sign").click()
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text(re.compile("Session 1 is signed and locked"))).to_be_visible()
    session = TreatmentSession.objects.get()
    assert (session.patient, session.is_signed) == (patient, True)


def test_consent_page_fits_a_phone_and_the_pad_can_be_cleared(live_server, page):
    doctor = DoctorFactory(username="amelie")
    patient = PatientFactory(first_name="Inès", last_name="Núñez")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, doctor)
    open_consent(page, live_server, patient, "Consent to clinical photography")

    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    canvas_width = page.locator("#signature-canvas").bounding_box()["width"]
    assert canvas_width <= 390

    draw_signature(page)
    expect(page.get_by_text("Signature drawn.")).to_be_visible()
    clear = page.get_by_role("button", name="Clear the signature")
    clear.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The pad is empty.")).to_be_visible()
    page.get_by_label("Your full name").fill("Ines Nunez")
    page.get_by_role("button", name="I agree and sign").click()
    expect(page.get_by_text("Draw the signature on the pad: it is required.")).to_be_visible()
    assert not ConsentRecord.objects.filter(document__procedure="photography").exists()

    draw_signature(page)  # the pad is drawn again after the error; the typed name was kept
    expect(page.get_by_label("Your full name")).to_have_value("Ines Nunez")
    page.get_by_role("button", name="I agree and sign").click()
    expect(page.get_by_text("The consent was signed and recorded.")).to_be_visible()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    consent = ConsentRecord.objects.latest("pk")  # the one just signed on the pad
    assert (consent.document.procedure, consent.signed_name) == ("photography", "Ines Nunez")
