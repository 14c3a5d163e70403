"""Treatment pages: happy paths, bad input named in the form, locking, query budgets."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from clinic.models import AuditEntry
from patients.models import HistoryItem
from tests.factories import ConsentRecordFactory, HistoryItemFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    ConsultationFactory,
    ProductFactory,
    SignedConsultationFactory,
    SignedSessionFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from treatments.models import (
    Batch,
    Consultation,
    OutcomeRating,
    Photo,
    SafetyOverride,
    TreatmentPlan,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"treatments:{name}", args=args)


def consultation_data(**overrides):
    data = {
        "consulted_on": timezone.localdate().isoformat(),
        "concerns": ["dehydration", "fine_lines"],
        "goals": "Brighter skin",
        "examination": "Dehydrated cheeks",
        "history_reviewed": "on",
        "history_changes": "No change",
        "routine_reviewed": "on",
        "routine_changes": "Started vitamin C",
        "assessment": "Suitable for a hydrating course",
        "suitability": "suitable",
    }
    data.update(overrides)
    return data


def plan_data(product, **overrides):
    data = {
        "session_count": "5",
        "maintenance_interval_months": "6",
        "technique": "needle_syringe",
        "numbing_cream": "emla",
        "areas": ["forehead", "cheek_left"],
        "starts_on": (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
        "product_1": str(product.pk),
        "amount_1": "2.5",
    }
    data.update(overrides)
    return data


def session_data(**overrides):
    now = timezone.localtime().replace(second=0, microsecond=0)
    data = {
        "performed_at": now.strftime("%Y-%m-%dT%H:%M"),
        "numbing_applied_at": (now - datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        "technique": "needle_syringe",
        "areas": ["cheek_left", "cheek_right"],
        "duration_minutes": "35",
        "pain_score": "3",
        "aftercare_given": "Standard sheet given",
    }
    data.update(overrides)
    return data


def png_bytes(size=(40, 30), fmt="PNG", exif=None):
    buffer = io.BytesIO()
    image = Image.new("RGB", size, "pink")
    if exif is not None:
        image.save(buffer, format=fmt, exif=exif)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()


# Consultations -----------------------------------------------------------------------


def test_doctor_records_and_signs_a_consultation(doctor_client, doctor):
    patient = PatientFactory()
    response = doctor_client.post(url("consultation_create", patient.pk), consultation_data())
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response.url == consultation.get_absolute_url()
    assert (consultation.doctor, consultation.status) == (doctor, "draft")

    response = doctor_client.post(url("consultation_sign", patient.pk, consultation.pk), follow=True)
    assert "signed and locked" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.is_signed

    response = doctor_client.get(url("consultation_edit", patient.pk, consultation.pk))
    assert response.status_code == 302  # locked: sent back with a message

    response = doctor_client.post(
        url("consultation_addendum", patient.pk, consultation.pk), {"text": "Patient mentions a nickel allergy."}
    )
    assert response.status_code == 302
    assert consultation.addenda.get().author == doctor
    page = doctor_client.get(consultation.get_absolute_url()).content.decode()
    assert "nickel allergy" in page
    assert AuditEntry.objects.filter(action="view", object_type="consultation", object_id=str(consultation.pk)).exists()


def test_consultation_in_the_future_is_refused(doctor_client):
    patient = PatientFactory()
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = doctor_client.post(url("consultation_create", patient.pk), consultation_data(consulted_on=future))
    assert response.status_code == 200
    assert "cannot be dated in the future" in response.content.decode()
    assert not Consultation.objects.exists()


def test_other_concern_needs_a_description(doctor_client):
    patient = PatientFactory()
    response = doctor_client.post(url("consultation_create", patient.pk), consultation_data(concerns=["other"]))
    assert "Describe the other concern." in response.content.decode()


def test_signing_an_incomplete_consultation_says_what_is_missing(doctor_client, doctor):
    consultation = ConsultationFactory(doctor=doctor, routine_reviewed=False)
    response = doctor_client.post(url("consultation_sign", consultation.patient.pk, consultation.pk), follow=True)
    assert "skin routine was reviewed" in response.content.decode()
    consultation.refresh_from_db()
    assert not consultation.is_signed


def test_edit_draft(doctor_client, doctor):
    consultation = ConsultationFactory(doctor=doctor)
    response = doctor_client.post(
        url("consultation_edit", consultation.patient.pk, consultation.pk), consultation_data(goals="Less dull skin")
    )
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.goals == "Less dull skin"


def test_empty_addendum_is_refused(doctor_client):
    consultation = SignedConsultationFactory()
    response = doctor_client.post(url("consultation_addendum", consultation.patient.pk, consultation.pk), {"text": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


# Plans -------------------------------------------------------------------------------


def test_doctor_makes_a_plan_and_starts_it(doctor_client, doctor):
    consultation = SignedConsultationFactory()
    SkinProfileFactory(patient=consultation.patient)
    product = ProductFactory()
    response = doctor_client.get(url("plan_create", consultation.patient.pk, consultation.pk))
    assert response.status_code == 200
    assert "Safety check" in response.content.decode()
    response = doctor_client.post(url("plan_create", consultation.patient.pk, consultation.pk), plan_data(product))
    plan = TreatmentPlan.objects.get()
    assert response.status_code == 302
    assert (plan.status, plan.session_count, plan.doctor) == ("proposed", 5, doctor)
    assert plan.plan_products.get().amount_per_session == Decimal("2.50")

    page = doctor_client.get(plan.get_absolute_url()).content.decode()
    assert "0 done, 5 left" in page
    response = doctor_client.post(url("plan_activate", plan.patient.pk, plan.pk))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == "active"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("session_count", "3", "A course has from 4 to 6 sessions."),
        ("session_count", "7", "A course has from 4 to 6 sessions."),
        ("maintenance_interval_months", "4", "Maintenance is every 6 to 12 months."),
        ("maintenance_interval_months", "13", "Maintenance is every 6 to 12 months."),
        ("areas", [], "Choose at least one facial area."),
        ("amount_1", "", "Give the amount of"),
        ("amount_1", "0", "The amount must be more than 0 ml."),
        ("product_1", "", "Choose the product for this amount."),
    ],
)
def test_plan_bad_input_names_the_problem(doctor_client, field, value, message):
    consultation = SignedConsultationFactory()
    response = doctor_client.post(
        url("plan_create", consultation.patient.pk, consultation.pk), plan_data(ProductFactory(), **{field: value})
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TreatmentPlan.objects.exists()


def test_plan_from_a_draft_consultation_is_refused(doctor_client):
    consultation = ConsultationFactory()
    response = doctor_client.get(url("plan_create", consultation.patient.pk, consultation.pk), follow=True)
    assert "Sign the consultation before" in response.content.decode()


def test_starting_a_plan_with_a_blocking_finding_needs_a_reason(doctor_client, doctor):
    plan = TreatmentPlanFactory()
    SkinProfileFactory(patient=plan.patient, pregnancy="pregnant")
    response = doctor_client.get(plan.get_absolute_url())
    page = response.content.decode()
    assert "Blocks treatment" in page
    assert "Reason to go ahead despite: Pregnant" in page

    response = doctor_client.post(url("plan_activate", plan.patient.pk, plan.pk), {"override_0": ""})
    assert response.status_code == 400
    assert "Pregnant blocks treatment" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "proposed"

    response = doctor_client.post(
        url("plan_activate", plan.patient.pk, plan.pk), {"override_0": "Pregnancy test negative today"}
    )
    assert response.status_code == 302
    override = SafetyOverride.objects.get()
    assert (override.reason, override.overridden_by) == ("Pregnancy test negative today", doctor)
    assert AuditEntry.objects.filter(action="override").count() == 1


def test_cancel_plan_needs_reason(doctor_client):
    plan = ActivePlanFactory()
    response = doctor_client.post(url("plan_cancel", plan.patient.pk, plan.pk), {"reason": ""})
    assert response.status_code == 400
    assert "Give the reason for cancelling the plan." in response.content.decode()
    response = doctor_client.post(url("plan_cancel", plan.patient.pk, plan.pk), {"reason": "Moved away"})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.status, plan.cancellation_reason) == ("cancelled", "Moved away")


def test_print_pages_are_audited(doctor_client):
    plan = ActivePlanFactory()
    SignedSessionFactory(plan=plan, number=1, aftercare_given="Arnica for bruises")
    page = doctor_client.get(url("plan_print", plan.patient.pk, plan.pk)).content.decode()
    assert "Your mesotherapy treatment plan" in page
    page = doctor_client.get(url("aftercare_print", plan.patient.pk, plan.pk)).content.decode()
    assert "After your mesotherapy session" in page
    assert "Arnica for bruises" in page
    assert AuditEntry.objects.filter(action="print").count() == 2


# Sessions ----------------------------------------------------------------------------


def test_doctor_records_and_signs_a_session_with_a_batch(doctor_client, doctor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    HistoryItemFactory(
        patient=plan.patient, category="medication", code=HistoryItem.Code.ANTICOAGULANT, name="Warfarin"
    )
    batch = BatchFactory(product=plan.plan_products.get().product, quantity_in_stock=Decimal("10"))
    page = doctor_client.get(url("session_create", plan.patient.pk, plan.pk)).content.decode()
    assert "Anticoagulant: Warfarin" in page
    assert "More bruising is likely" in page

    response = doctor_client.post(
        url("session_create", plan.patient.pk, plan.pk),
        session_data(batch_1=str(batch.pk), batch_amount_1="2.5", reactions=["bruising"]),
    )
    session = TreatmentSession.objects.get()
    assert response.status_code == 302
    assert (session.number, session.doctor, session.reactions) == (1, doctor, ["bruising"])
    assert session.batch_usages.get().amount == Decimal("2.50")

    # Signing asks first: what will be locked and taken from stock; nothing is written yet.
    response = doctor_client.post(url("session_sign", plan.patient.pk, session.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Check what will be locked" in page
    assert f"lot {batch.lot_number} (exp. {batch.expiry_date:%d/%m/%Y}): 2.50 ml, leaving 7.50 ml" in page
    session.refresh_from_db()
    batch.refresh_from_db()
    assert (session.is_signed, batch.quantity_in_stock) == (False, Decimal("10.00"))
    response = doctor_client.post(url("session_sign", plan.patient.pk, session.pk), {"confirmed": "on"}, follow=True)
    assert "signed and locked" in response.content.decode()
    batch.refresh_from_db()
    assert batch.quantity_in_stock == Decimal("7.50")
    assert doctor_client.get(url("session_edit", plan.patient.pk, session.pk)).status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pain_score": "11"}, "The pain score is from 0 (none) to 10"),
        ({"areas": []}, "Choose at least one facial area."),
        ({"reactions": ["other"]}, "Describe the other reaction."),
        ({"batch_amount_1": "2"}, "Choose the batch for this amount."),
        ({"performed_at": "not a date"}, "Enter a valid date/time."),
    ],
)
def test_session_bad_input_names_the_problem(doctor_client, overrides, message):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    response = doctor_client.post(url("session_create", plan.patient.pk, plan.pk), session_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TreatmentSession.objects.exists()


def test_session_with_an_amount_above_stock_is_refused(doctor_client):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(quantity_in_stock=Decimal("1.00"))
    # Not offered in the cocktail's rows (not enough for the planned amount); the other-batch row
    # offers it, and the service refuses the amount.
    response = doctor_client.post(
        url("session_create", plan.patient.pk, plan.pk), session_data(batch_2=str(batch.pk), batch_amount_2="3")
    )
    assert "has only 1.00 ml in stock" in response.content.decode()


def test_expired_batch_is_not_offered(doctor_client):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    expired = BatchFactory(expiry_date=datetime.date(2020, 1, 1))
    response = doctor_client.post(
        url("session_create", plan.patient.pk, plan.pk), session_data(batch_1=str(expired.pk), batch_amount_1="1")
    )
    # Expired batches are not in the choice list; the service would refuse them anyway.
    assert "This batch can no longer be used (expired, recalled or out of stock)" in response.content.decode()
    assert not TreatmentSession.objects.exists()


def test_session_for_a_proposed_plan_is_refused(doctor_client):
    plan = TreatmentPlanFactory()
    response = doctor_client.get(url("session_create", plan.patient.pk, plan.pk), follow=True)
    assert "Sessions are recorded for an active plan" in response.content.decode()


def test_ratings_recorded_and_out_of_range_refused(doctor_client):
    session = SignedSessionFactory()
    data = {"rater": "patient", "hydration": "4", "radiance": "5", "fine_lines": "3", "satisfaction": "5"}
    response = doctor_client.post(url("session_rating", session.patient.pk, session.pk), data)
    assert response.status_code == 302
    assert OutcomeRating.objects.get().rater == "patient"
    response = doctor_client.post(
        url("session_rating", session.patient.pk, session.pk), {**data, "rater": "doctor", "hydration": "9"}
    )
    assert response.status_code == 400
    assert "Choose a rating from 1 (poor) to 5 (excellent)." in response.content.decode()
    response = doctor_client.post(url("session_rating", session.patient.pk, session.pk), {**data, "radiance": "4"})
    assert "already recorded" in response.content.decode()


def test_outcomes_chart_draws_the_ratings(doctor_client, doctor):
    plan = ActivePlanFactory()
    for number, score in ((1, 2), (2, 4)):
        session = SignedSessionFactory(plan=plan, number=number)
        OutcomeRating.objects.create(
            session=session, rater="doctor", hydration=score, radiance=score, fine_lines=score, satisfaction=score,
            recorded_by=doctor,
        )  # fmt: skip
    page = doctor_client.get(plan.get_absolute_url()).content.decode()
    assert "<polyline" in page
    assert "Hydration (doctor), session 2: 4/5" in page


# Query budgets -----------------------------------------------------------------------


def _course_with_sessions(count, doctor):
    plan = ActivePlanFactory(session_count=6)
    for number in range(1, count + 1):
        session = SignedSessionFactory(plan=plan, number=number)
        session.batch_usages.create(batch=BatchFactory(), amount=Decimal("1"))
        OutcomeRating.objects.create(
            session=session, rater="doctor", hydration=3, radiance=3, fine_lines=3, satisfaction=3, recorded_by=doctor
        )
    return plan


# The whole request: session, user, second factor, permissions, then the page's own reads and
# the audit row. The plan page lists the booked appointments too; it reads its sessions with
# their batches and ratings in one statement.
QUERY_BUDGETS = {"timeline": 9, "plan_detail": 16, "plan_print": 12}


@pytest.mark.parametrize("name", ["timeline", "plan_detail", "plan_print"])
def test_query_budget_does_not_grow_with_sessions(doctor_client, doctor, django_assert_max_num_queries, name):
    counts = []
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for sessions in (1, 6):
        plan = _course_with_sessions(sessions, doctor)
        target = url(name, plan.patient.pk) if name == "timeline" else url(name, plan.patient.pk, plan.pk)
        with CaptureQueriesContext(connection) as queries:
            assert doctor_client.get(target).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(QUERY_BUDGETS[name]):
        doctor_client.get(target)


def test_plan_page_lists_its_safety_overrides_and_asks_for_none_without(doctor_client, doctor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plan = _course_with_sessions(1, doctor)
    # Completed: no safety check of today (which reads the overrides for itself).
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status=TreatmentPlan.Status.COMPLETED, maintenance_due_on=timezone.localdate() + datetime.timedelta(days=180)
    )
    target = url("plan_detail", plan.patient.pk, plan.pk)
    with CaptureQueriesContext(connection) as queries:
        page = doctor_client.get(target).content.decode()
    assert "overrides-heading" not in page
    assert not [query for query in queries if query["sql"].startswith('SELECT "treatments_safetyoverride"')]
    SafetyOverride.objects.create(
        patient=plan.patient,
        plan=plan,
        session=plan.sessions.get(),
        finding_code="allergy",
        finding="Allergy to hyaluronic acid",
        reason="Patch test negative",
        overridden_by=doctor,
    )
    page = doctor_client.get(target).content.decode()
    assert "overrides-heading" in page
    assert "Allergy to hyaluronic acid — “Patch test negative”" in page
    assert ", session 1)" in page


# Photos ------------------------------------------------------------------------------


def test_photo_upload_strips_metadata_and_is_served_privately(doctor_client, doctor, settings):
    session = SignedSessionFactory()
    ConsentRecordFactory(patient=session.patient, procedure="photography")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    original = png_bytes(fmt="JPEG", exif=exif.tobytes())
    assert b"SecretCam" in original
    upload = SimpleUploadedFile("face.jpg", original, "image/jpeg")
    response = doctor_client.post(
        url("photo_upload", session.patient.pk, session.pk), {"kind": "before", "view": "front", "image": upload}
    )
    assert response.status_code == 302
    photo = Photo.objects.get()
    stored = (settings.PRIVATE_MEDIA_ROOT / "treatment_photos" / photo.path).read_bytes()
    assert b"SecretCam" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()

    response = doctor_client.get(url("photo_file", session.patient.pk, photo.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert response.content == stored
    assert AuditEntry.objects.filter(action="view", object_type="clinical photo", object_id=str(photo.pk)).exists()

    page = doctor_client.get(url("photo_compare", session.patient.pk, session.plan.pk)).content.decode()
    assert url("photo_file", session.patient.pk, photo.pk) in page


@pytest.mark.parametrize(
    ("filename", "payload", "content_type", "message"),
    [
        ("notes.txt", b"hello, not an image", "text/plain", "not a JPEG or PNG image"),
        ("fake.jpg", b"GIF89a" + b"\x00" * 20, "image/jpeg", "not a JPEG or PNG image"),
    ],
)
def test_photo_upload_refuses_what_is_not_an_image(doctor_client, filename, payload, content_type, message):
    session = SignedSessionFactory()
    ConsentRecordFactory(patient=session.patient, procedure="photography")
    upload = SimpleUploadedFile(filename, payload, content_type)
    response = doctor_client.post(
        url("photo_upload", session.patient.pk, session.pk), {"kind": "after", "image": upload}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Photo.objects.exists()


def test_photo_upload_refuses_other_formats(doctor_client):
    session = SignedSessionFactory()
    ConsentRecordFactory(patient=session.patient, procedure="photography")
    buffer = io.BytesIO()
    Image.new("RGB", (5, 5)).save(buffer, format="GIF")
    upload = SimpleUploadedFile("x.gif", buffer.getvalue(), "image/gif")
    response = doctor_client.post(
        url("photo_upload", session.patient.pk, session.pk), {"kind": "after", "image": upload}
    )
    assert "GIF images are not accepted" in response.content.decode()


def test_photo_upload_refuses_large_files(doctor_client, settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 100
    session = SignedSessionFactory()
    ConsentRecordFactory(patient=session.patient, procedure="photography")
    upload = SimpleUploadedFile("big.png", png_bytes(size=(200, 200)), "image/png")
    response = doctor_client.post(
        url("photo_upload", session.patient.pk, session.pk), {"kind": "after", "image": upload}
    )
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()


@pytest.mark.parametrize(
    "consent",
    ["none", "withdrawn", "mesotherapy only", "superseded text"],
)
def test_photo_upload_is_refused_without_a_photography_consent_in_force(doctor_client, doctor, consent):
    from patients.models import ConsentDocument

    session = SignedSessionFactory()
    if consent == "withdrawn":
        ConsentRecordFactory(
            patient=session.patient,
            procedure="photography",
            withdrawn_at=timezone.now(),
            withdrawn_by=doctor,
            withdrawal_reason="Does not want photos any more",
        )
    elif consent == "mesotherapy only":
        ConsentRecordFactory(patient=session.patient)
    elif consent == "superseded text":
        ConsentRecordFactory(patient=session.patient, procedure="photography")
        ConsentDocument.objects.create(
            procedure="photography", version=2, title="Consent to clinical photography", body="New wording",
            effective_from=timezone.localdate(),
        )  # fmt: skip
    upload = SimpleUploadedFile("face.png", png_bytes(), "image/png")
    response = doctor_client.post(
        url("photo_upload", session.patient.pk, session.pk), {"kind": "before", "image": upload}
    )
    assert response.status_code == 400
    assert "No consent to clinical photography is in force" in " ".join(response.context["form"].non_field_errors())
    assert "No consent to clinical photography is in force" in response.content.decode()
    assert not Photo.objects.exists()
    page = doctor_client.get(url("session_detail", session.patient.pk, session.pk)).content.decode()
    assert "No photos without consent" in page
    assert url("photo_upload", session.patient.pk, session.pk) not in page


def test_session_page_offers_photo_upload_with_a_photography_consent(doctor_client):
    session = SignedSessionFactory()
    ConsentRecordFactory(patient=session.patient, procedure="photography")
    page = doctor_client.get(url("session_detail", session.patient.pk, session.pk)).content.decode()
    assert url("photo_upload", session.patient.pk, session.pk) in page
    assert "No photos without consent" not in page


def test_formulary_lists_the_seeded_products(doctor_client):
    page = doctor_client.get(url("formulary")).content.decode()
    assert "NCTF 135 HA" in page
    assert "Jalupro Classic" in page


def test_formulary_manager_links_to_admin(manager_client):
    page = manager_client.get(url("formulary")).content.decode()
    assert "Manage batches" in page
    assert manager_client.get(reverse("admin:treatments_batch_add")).status_code == 200


def test_timeline_lists_records_in_order(doctor_client):
    # A signed consultation cannot be changed afterwards (the database refuses): made with its date.
    plan = ActivePlanFactory(consultation__consulted_on=timezone.localdate() - datetime.timedelta(days=10))
    TreatmentSessionFactory(plan=plan, number=1)
    page = doctor_client.get(url("timeline", plan.patient.pk)).content.decode()
    assert page.index(">Consultation<") < page.index("Treatment plan: 5 sessions") < page.index("Session 1 of 5")
    assert Batch.objects.count() == 0


def test_signed_session_takes_dated_addenda(doctor_client, doctor):
    session = SignedSessionFactory()
    target = url("session_addendum", session.patient.pk, session.pk)
    response = doctor_client.post(target, {"text": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    response = doctor_client.post(target, {"text": "Small bruise on the left cheek reported the next day."})
    assert response.status_code == 302
    addendum = session.addenda.get()
    assert (addendum.author, addendum.written_at is not None) == (doctor, True)
    page = doctor_client.get(session.get_absolute_url()).content.decode()
    assert "Small bruise on the left cheek" in page
    assert AuditEntry.objects.filter(action="addendum", object_id=str(session.pk)).exists()


def test_draft_session_takes_no_addendum(doctor_client):
    session = TreatmentSessionFactory()
    response = doctor_client.post(url("session_addendum", session.patient.pk, session.pk), {"text": "x"})
    assert response.status_code == 400
    assert "still a draft" in response.content.decode()


def test_latest_draft_session_can_be_discarded_by_its_author(doctor_client, doctor):
    plan = ActivePlanFactory()
    SignedSessionFactory(plan=plan, number=1)
    draft = TreatmentSessionFactory(plan=plan, number=2, doctor=doctor)
    response = doctor_client.post(url("session_discard", plan.patient.pk, draft.pk))
    assert response.status_code == 302
    assert list(plan.sessions.values_list("number", flat=True)) == [1]
    assert AuditEntry.objects.filter(action="delete", object_id=str(draft.pk)).exists()


def test_signed_or_earlier_sessions_cannot_be_discarded(doctor_client, doctor):
    plan = ActivePlanFactory()
    signed = SignedSessionFactory(plan=plan, number=1, doctor=doctor)
    response = doctor_client.post(url("session_discard", plan.patient.pk, signed.pk), follow=True)
    assert "signed and locked" in response.content.decode()
    first = TreatmentSessionFactory(plan=ActivePlanFactory(), number=1, doctor=doctor)
    TreatmentSessionFactory(plan=first.plan, number=2, doctor=doctor)
    response = doctor_client.post(url("session_discard", first.patient.pk, first.pk), follow=True)
    assert "Only the latest session" in response.content.decode()
    assert TreatmentSession.objects.count() == 3


def test_safety_preview_follows_the_chosen_cocktail(doctor_client):
    from tests.treatments.factories import IngredientFactory

    consultation = SignedConsultationFactory()
    SkinProfileFactory(patient=consultation.patient)
    HistoryItemFactory(patient=consultation.patient, category="allergy", code=HistoryItem.Code.INGREDIENT, name="DMAE")
    product = ProductFactory(ingredients=[IngredientFactory(name="DMAE 3% test")])
    target = url("plan_safety_preview", consultation.patient.pk, consultation.pk)
    page = doctor_client.get(target, {"numbing_cream": "emla"}).content.decode()
    assert "Allergy to a mesotherapy ingredient: DMAE" in page
    assert "Warning" in page
    page = doctor_client.get(target, {"product_1": str(product.pk), "numbing_cream": "bogus"}).content.decode()
    assert "Blocks treatment" in page
    assert "The cocktail contains DMAE 3% test." in page


def test_proposed_plan_can_be_changed_but_not_a_started_one(doctor_client):
    plan = TreatmentPlanFactory()
    new_product = ProductFactory(name="Changed cocktail")
    target = url("plan_edit", plan.patient.pk, plan.pk)
    page = doctor_client.get(target).content.decode()
    assert "Change the proposed plan" in page
    response = doctor_client.post(target, plan_data(new_product, session_count="6", amount_1="1.5"))
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.session_count == 6
    assert [(item.product, item.amount_per_session) for item in plan.plan_products.all()] == [
        (new_product, Decimal("1.50"))
    ]
    response = doctor_client.post(target, plan_data(new_product, session_count="9"))
    assert "A course has from 4 to 6 sessions." in response.content.decode()

    started = ActivePlanFactory()
    response = doctor_client.get(url("plan_edit", started.patient.pk, started.pk), follow=True)
    assert "Only a proposed plan can be changed" in response.content.decode()


def test_draft_session_edit_keeps_its_batches(doctor_client, doctor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(quantity_in_stock=Decimal("5"))
    draft = TreatmentSessionFactory(plan=plan, number=1, doctor=doctor)
    draft.batch_usages.create(batch=batch, amount=Decimal("2"))
    target = url("session_edit", plan.patient.pk, draft.pk)
    page = doctor_client.get(target).content.decode()
    assert f'<option value="{batch.pk}" selected' in page
    # The batch is not of the plan's cocktail: it is kept in the other-batch row.
    response = doctor_client.post(target, session_data(batch_2=str(batch.pk), batch_amount_2="3", notes="Re-dosed"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.notes == "Re-dosed"
    assert draft.batch_usages.get().amount == Decimal("3.00")


def test_no_session_form_once_every_session_is_recorded(doctor_client):
    plan = ActivePlanFactory(session_count=4)
    for number in range(1, 5):
        SignedSessionFactory(plan=plan, number=number)
    response = doctor_client.get(url("session_create", plan.patient.pk, plan.pk), follow=True)
    assert "All 4 sessions of this plan are already recorded." in response.content.decode()
