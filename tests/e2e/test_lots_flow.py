"""Browser flows of the batches: a session pre-filled from the plan and signed with the
first-expiring batch; a batch recalled by a manager, its patients listed and notified."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import ScheduledMessage
from tests.e2e.conftest import login
from tests.factories import ConsentRecordFactory, DoctorFactory, ManagerFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, BatchFactory, ProductFactory, SignedSessionFactory
from treatments.models import Batch, TreatmentSession

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_session_is_pre_filled_from_the_plan_and_signed_with_the_first_expiring_batch(live_server, page):
    doctor = DoctorFactory(username="ines", first_name="Inès", last_name="Moreau")
    product = ProductFactory(name="Hydra boost")
    plan = ActivePlanFactory(
        doctor=doctor,
        consultation__doctor=doctor,
        consultation__consent=False,
        products=[product],
        areas=["forehead", "cheek_left"],
        technique="meso_pen",
    )
    # Signing is gated on a mesotherapy consent in force, signed by the patient.
    ConsentRecordFactory(patient=plan.patient, witnessed_by=doctor)
    SkinProfileFactory(patient=plan.patient, recorded_by=doctor)
    today = timezone.localdate()
    BatchFactory(product=product, lot_number="HB-LATE", expiry_date=today + datetime.timedelta(days=300))
    first = BatchFactory(product=product, lot_number="HB-SOON", expiry_date=today + datetime.timedelta(days=45))
    BatchFactory(product=ProductFactory(name="Elsewhere"), lot_number="EL-1")

    login(page, live_server, doctor)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{plan.get_absolute_url()}")
    page.get_by_role("link", name="Record session 1").click()
    batch_select = page.get_by_label("Batch of Hydra boost")
    expect(batch_select).to_have_value(str(first.pk))
    # Only the product's usable batches, the first to expire first; no other product's lot.
    lots = [text for text in batch_select.locator("option").all_inner_texts() if "lot" in text]
    assert [lot.split("lot ")[1].split(",")[0] for lot in lots] == ["HB-SOON", "HB-LATE"]
    expect(page.get_by_label("Amount of Hydra boost (ml)")).to_have_value("2.00")
    expect(page.get_by_label("Technique")).to_have_value("meso_pen")
    expect(page.get_by_label("Forehead", exact=True)).to_be_checked()
    expect(page.get_by_label("Left cheek", exact=True)).to_be_checked()
    page.get_by_label("Pain score (0-10)").fill("2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Session 1 of 5")

    page.get_by_role("button", name="Review and sign").click()
    expect(page.get_by_role("heading", name="Check what will be locked")).to_be_visible()
    expect(page.get_by_text("Hydra boost lot HB-SOON")).to_contain_text("2.00 ml, leaving 23.00 ml")
    session = TreatmentSession.objects.get()
    assert not session.is_signed  # nothing is locked before the confirmation
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("Session 1 is signed and locked")).to_be_visible()

    session.refresh_from_db()
    assert session.is_signed
    assert [usage.batch_id for usage in session.batch_usages.all()] == [first.pk]
    assert Batch.objects.get(pk=first.pk).quantity_in_stock == Decimal("23.00")

    # The outcome ratings are labelled choices.
    page.get_by_role("radio", name="Patient").check()
    for measure in ("Hydration", "Radiance (glow)", "Fine lines", "Overall satisfaction"):
        page.get_by_role("group", name=measure).get_by_label("4 very good").check()
    page.get_by_role("button", name="Record rating").click()
    expect(page.get_by_text("The rating was recorded.")).to_be_visible()


def _patients_who_got(batch) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT s.patient_id FROM treatments_batchusage u "
            "JOIN treatments_treatmentsession s ON s.id = u.session_id WHERE u.batch_id = %s",
            [batch.pk],
        )
        return {row[0] for row in cursor.fetchall()}


def test_manager_recalls_a_batch_sees_exactly_who_got_it_and_notifies_them(live_server, page):
    manager = ManagerFactory(username="marta")
    batch = BatchFactory(lot_number="RC-0042")
    sibling = BatchFactory(product=batch.product, lot_number="RC-0043")
    names = {}
    for index, lot in enumerate((batch, batch, sibling)):
        patient = PatientFactory(first_name=f"Pat{index}", last_name="Recall", email=f"p{index}@example.org")
        names[patient.pk] = patient.full_name
        session = SignedSessionFactory(plan__patient=patient, plan__consultation__patient=patient, number=1)
        session.batch_usages.create(batch=lot, amount=Decimal("2.00"))

    login(page, live_server, manager)
    page.goto(f"{live_server.url}/treatments/formulary/")
    page.get_by_role("link", name="RC-0042").click()
    page.get_by_role("link", name="Recall this batch").click()
    page.get_by_label("Reason for the recall").fill("Manufacturer notice 7/2026: sterility not assured")
    page.get_by_role("button", name="Recall the batch").click()
    expect(page.get_by_text("is recalled: it can no longer be used")).to_be_visible()

    table = page.get_by_role("table", name="Patients who received lot RC-0042")
    listed = set(table.locator("tbody th").all_inner_texts())
    expected = _patients_who_got(batch)
    assert listed == {names[pk] for pk in expected}
    assert len(listed) == 2

    page.get_by_label("Yes, send the recall notice email to each patient listed").check()
    page.get_by_role("button", name="Send the recall notice").click()
    expect(page.get_by_text("The recall notice was queued for 2 patients.")).to_be_visible()
    notices = ScheduledMessage.objects.filter(kind="lot_recall_notice")
    assert sorted(notices.values_list("patient_id", flat=True)) == sorted(expected)

    # "Who got lot X" finds the same patients, in any case.
    page.goto(f"{live_server.url}/treatments/formulary/lots/")
    page.get_by_label("Lot number").fill("rc-0042")
    page.get_by_role("button", name="Search").click()
    for pk in expected:
        expect(page.get_by_role("link", name=names[pk])).to_be_visible()
