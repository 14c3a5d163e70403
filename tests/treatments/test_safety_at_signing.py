"""Consent as a gate (course start, session signing), the checks at signing (the full safety
check again, spacing, duration, numbing time, technique) and PostgreSQL's lock on signed records."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Actor
from clinic.models import AuditEntry
from patients.models import ConsentDocument, HistoryItem, SkinProfile
from patients.selectors import consent_in_force
from scheduling.models import AppointmentType
from tests.factories import ConsentRecordFactory, HistoryItemFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    SignedConsultationFactory,
    SignedSessionFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from treatments import services
from treatments.models import (
    BatchUsage,
    Consultation,
    ConsultationAddendum,
    NumbingCream,
    SafetyOverride,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db
MESOTHERAPY = ConsentDocument.Procedure.MESOTHERAPY


@pytest.fixture
def actor(doctor):
    return Actor(user=doctor, ip_address="10.0.0.1")


def _withdraw(consent, by):
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = by
    consent.withdrawal_reason = "Changed her mind"
    consent.save()


def _new_version():
    current = ConsentDocument.objects.filter(procedure=MESOTHERAPY).order_by("-version").first()
    return ConsentDocument.objects.create(
        procedure=MESOTHERAPY,
        version=current.version + 1,
        title=current.title,
        body=current.body + "\n\nNew paragraph on lymph drainage.",
        effective_from=timezone.localdate(),
    )


def _draft(plan, doctor, **fields):
    values = {"performed_at": timezone.now(), "technique": plan.technique, "areas": ["forehead"]} | fields
    return TreatmentSessionFactory(plan=plan, doctor=doctor, number=plan.sessions.count() + 1, **values)


# Consent as a gate ----------------------------------------------------------------------


def test_consent_in_force_for_the_current_version(doctor):
    consultation = SignedConsultationFactory()
    status = consent_in_force(consultation.patient, MESOTHERAPY)
    assert status.in_force
    assert status.record is not None


def test_no_consent_is_not_in_force_and_says_what_to_do():
    consultation = SignedConsultationFactory(consent=False)
    status = consent_in_force(consultation.patient, MESOTHERAPY)
    assert not status.in_force
    assert "No consent to facial mesotherapy is on file" in status.message


def test_a_newer_consent_text_asks_for_re_consent():
    consultation = SignedConsultationFactory()
    _new_version()
    status = consent_in_force(consultation.patient, MESOTHERAPY)
    assert not status.in_force
    assert "must be given again" in status.message
    assert "re-consent" in status.message
    ConsentRecordFactory(patient=consultation.patient, document=status.current_document)
    assert consent_in_force(consultation.patient, MESOTHERAPY).in_force


def test_a_text_that_takes_effect_later_does_not_ask_for_re_consent_yet():
    consultation = SignedConsultationFactory()
    version = _new_version()
    ConsentDocument.objects.filter(pk=version.pk).update(
        effective_from=timezone.localdate() + datetime.timedelta(days=9)
    )
    assert consent_in_force(consultation.patient, MESOTHERAPY).in_force


@pytest.mark.parametrize("how", ["none", "withdrawn", "superseded"])
def test_a_course_is_not_started_without_consent_in_force_and_no_reason_lifts_it(how, actor, doctor):
    plan = TreatmentPlanFactory(consultation__consent=how != "none")
    SkinProfileFactory(patient=plan.patient)
    if how == "withdrawn":
        _withdraw(plan.patient.consents.get(), doctor)
    if how == "superseded":
        _new_version()
    expected = {"none": "No consent", "withdrawn": "withdrew consent", "superseded": "must be given again"}[how]
    with pytest.raises(ValidationError, match=expected) as error:
        services.plan_activate(plan=plan, actor=actor, overrides={"consent_required": "Patient agreed verbally"})
    assert "rule consent_required" in str(error.value)
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.PROPOSED
    assert not SafetyOverride.objects.exists()


def test_starting_the_course_page_names_the_consent_rule_at_the_top_with_focus(doctor_client):
    plan = TreatmentPlanFactory(consultation__consent=False)
    SkinProfileFactory(patient=plan.patient)
    response = doctor_client.post(reverse("treatments:plan_activate", args=[plan.patient.pk, plan.pk]))
    assert response.status_code == 400
    page = response.content.decode()
    refusal = page[page.index("data-refusal") : page.index("Proposed by")]
    assert "The course was not started" in refusal
    assert "rule consent_required" in refusal
    assert plan.patient.full_name in refusal
    assert 'tabindex="-1"' in page[page.index("refusal") - 80 : page.index("data-refusal")]
    assert "js/focus_refusal.js" in page
    # No reason box is offered for the consent: it cannot be overridden.
    assert "Reason to go ahead despite: No informed consent" not in page


@pytest.mark.parametrize("how", ["none", "withdrawn", "superseded"])
def test_a_session_is_not_signed_without_consent_in_force(how, actor, doctor):
    plan = ActivePlanFactory(consultation__consent=how != "none")
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(quantity_in_stock=Decimal("10.00"))
    session = _draft(plan, doctor)
    BatchUsage.objects.create(session=session, batch=batch, amount=Decimal("2.00"))
    if how == "withdrawn":
        _withdraw(plan.patient.consents.get(), doctor)
    if how == "superseded":
        _new_version()
    with pytest.raises(ValidationError, match="rule consent_required"):
        services.session_sign(session=session, actor=actor)
    session.refresh_from_db()
    batch.refresh_from_db()
    assert (session.status, session.signed_at, batch.quantity_in_stock) == ("draft", None, Decimal("10.00"))


# Safe defaults in the plan and consultation forms ----------------------------------------


def test_plan_form_offers_no_numbing_cream_to_a_patient_allergic_to_lidocaine(doctor_client, doctor):
    consultation = SignedConsultationFactory(doctor=doctor)
    SkinProfileFactory(patient=consultation.patient)
    HistoryItemFactory(
        patient=consultation.patient, category="allergy", code=HistoryItem.Code.LOCAL_ANAESTHETIC, name="Lidocaine"
    )
    url = reverse("treatments:plan_create", args=[consultation.patient.pk, consultation.pk])
    page = doctor_client.get(url).content.decode()
    assert '<option value="none" selected>None</option>' in page
    assert "Blocks treatment" not in page  # the form does not open already blocked
    assert "Allergy to local anaesthetic: Lidocaine" in page


def test_plan_form_keeps_the_usual_cream_without_an_anaesthetic_allergy(doctor_client, doctor):
    consultation = SignedConsultationFactory(doctor=doctor)
    SkinProfileFactory(patient=consultation.patient)
    url = reverse("treatments:plan_create", args=[consultation.patient.pk, consultation.pk])
    page = doctor_client.get(url).content.decode()
    assert f'<option value="{NumbingCream.EMLA}" selected>' in page


def test_plan_product_picker_marks_contraindicated_products_in_words(doctor_client, doctor):
    from tests.treatments.factories import IngredientFactory, ProductFactory

    consultation = SignedConsultationFactory(doctor=doctor)
    HistoryItemFactory(patient=consultation.patient, category="allergy", code=HistoryItem.Code.INGREDIENT, name="DMAE")
    bad = ProductFactory(name="Lift cocktail", ingredients=[IngredientFactory(name="DMAE 3%")])
    good = ProductFactory(name="Hydra cocktail", ingredients=[IngredientFactory(name="Hyaluronic acid")])
    page = doctor_client.get(
        reverse("treatments:plan_create", args=[consultation.patient.pk, consultation.pk])
    ).content.decode()
    assert (
        f'<option value="{bad.pk}">Lift cocktail (Test Labs) — CONTRAINDICATED: ALLERGY TO DMAE (DMAE 3%)</option>'
        in page
    )
    assert f'<option value="{good.pk}">Hydra cocktail (Test Labs)</option>' in page


def test_consultation_form_shows_the_alert_banner(doctor_client):
    patient = SignedConsultationFactory().patient
    HistoryItemFactory(patient=patient, category="allergy", code=HistoryItem.Code.LATEX, name="Latex")
    SkinProfileFactory(patient=patient, pregnancy=SkinProfile.Pregnancy.PREGNANT)
    page = doctor_client.get(reverse("treatments:consultation_create", args=[patient.pk])).content.decode()
    banner = page[page.index("Safety alerts") : page.index('<form method="post" novalidate')]
    assert "Latex allergy: Latex" in banner
    assert "Pregnant" in banner
    assert "Blocks treatment" in banner


def test_session_form_shows_the_alert_banner(doctor_client, doctor):
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    HistoryItemFactory(
        patient=plan.patient, category="medication", code=HistoryItem.Code.ANTICOAGULANT, name="Warfarin"
    )
    page = doctor_client.get(reverse("treatments:session_create", args=[plan.patient.pk, plan.pk])).content.decode()
    assert page.index("Anticoagulant: Warfarin") < page.index('<form method="post" novalidate')


def test_a_plan_needs_a_consultation_that_reviewed_the_history(actor):
    consultation = Consultation(patient=SignedConsultationFactory().patient, history_reviewed=False)
    consultation.status = Consultation.Status.SIGNED  # as an unsaved record: the database forbids it saved
    with pytest.raises(ValidationError, match="medical history was not reviewed"):
        services.plan_create(consultation=consultation, fields={}, cocktail=[], actor=actor)


# Checks at signing ----------------------------------------------------------------------


def test_signing_re_runs_the_check_and_needs_a_reason_for_a_new_contraindication(actor, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    session = _draft(plan, doctor)
    # Since the draft was recorded, the patient said she is pregnant.
    SkinProfile.objects.filter(patient=plan.patient).update(superseded_at=timezone.now())
    SkinProfileFactory(patient=plan.patient, pregnancy=SkinProfile.Pregnancy.PREGNANT)
    with pytest.raises(ValidationError, match="Pregnant blocks treatment") as error:
        services.session_sign(session=session, actor=actor)
    assert "rule pregnancy, from skin profile" in str(error.value)
    session.refresh_from_db()
    assert session.status == "draft"
    assert not SafetyOverride.objects.exists()
    services.session_sign(session=session, actor=actor, overrides={"pregnancy": "Early-pregnancy test negative today"})
    session.refresh_from_db()
    override = SafetyOverride.objects.get()
    assert (session.status, override.session, override.finding_code) == ("signed", session, "pregnancy")
    assert AuditEntry.objects.filter(action="override", object_id=str(override.pk)).exists()


def test_an_override_given_at_course_start_still_holds_at_signing(actor, doctor):
    plan = TreatmentPlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    HistoryItemFactory(patient=plan.patient, category="condition", code=HistoryItem.Code.AUTOIMMUNE, name="Lupus")
    lineage = plan.patient.history_items.get().lineage
    services.plan_activate(plan=plan, actor=actor, overrides={f"autoimmune:{lineage}": "Rheumatologist agrees"})
    session = _draft(plan, doctor)
    services.session_sign(session=session, actor=actor)
    session.refresh_from_db()
    assert session.is_signed
    assert SafetyOverride.objects.count() == 1


def test_session_seven_minutes_after_the_previous_one_is_refused_unless_overridden(actor, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    first = _draft(plan, doctor, performed_at=timezone.now() - datetime.timedelta(minutes=7))
    services.session_sign(session=first, actor=actor)
    second = _draft(plan, doctor)
    with pytest.raises(ValidationError, match="Sessions less than 6 days apart") as error:
        services.session_sign(session=second, actor=actor)
    assert "7 minutes before this one" in str(error.value)
    assert "session 2" in str(error.value)
    second.refresh_from_db()
    assert second.status == "draft"
    services.session_sign(
        session=second, actor=actor, overrides={f"session_spacing:session-{second.pk}": "Course restarted by mistake"}
    )
    override = SafetyOverride.objects.get()
    assert (override.session, override.reason) == (second, "Course restarted by mistake")
    assert AuditEntry.objects.filter(action="override", object_id=str(override.pk)).exists()


def test_a_week_between_sessions_is_fine(actor, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    SignedSessionFactory(plan=plan, number=1, performed_at=timezone.now() - datetime.timedelta(days=7))
    second = _draft(plan, doctor)
    services.session_sign(session=second, actor=actor)
    assert not SafetyOverride.objects.exists()


def test_signing_page_refusal_names_rule_and_record_and_keeps_the_draft(doctor_client, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    SignedSessionFactory(plan=plan, number=1, performed_at=timezone.now() - datetime.timedelta(days=2))
    batch = BatchFactory(quantity_in_stock=Decimal("10.00"))
    second = _draft(plan, doctor)
    BatchUsage.objects.create(session=second, batch=batch, amount=Decimal("2.00"))
    url = reverse("treatments:session_sign", args=[plan.patient.pk, second.pk])
    response = doctor_client.post(url)
    assert response.status_code == 400
    page = response.content.decode()
    refusal = page[page.index("data-refusal") : page.index("Sign and lock this session")]
    assert "The session was not signed; the draft is unchanged" in refusal
    assert "rule session_spacing" in refusal
    assert "the draft record of session 2" in refusal
    assert "Reason to go ahead despite: Sessions less than 6 days apart" in page
    second.refresh_from_db()
    batch.refresh_from_db()
    assert (second.status, batch.quantity_in_stock) == ("draft", Decimal("10.00"))
    response = doctor_client.post(url, {"override_0": "Patient travels abroad next week"})
    assert response.status_code == 200  # the confirmation: the override and the stock to take
    assert "Sessions less than 6 days apart: “Patient travels abroad next week”" in response.content.decode()
    response = doctor_client.post(url, {"override_0": "Patient travels abroad next week", "confirmed": "on"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.is_signed


def test_numbing_cream_one_minute_before_is_a_warning_at_signing(actor, doctor, doctor_client):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    now = timezone.now()
    session = _draft(plan, doctor, performed_at=now, numbing_applied_at=now - datetime.timedelta(minutes=1))
    check = services.session_sign_check(session=session)
    warning = next(f for f in check.findings if f.rule == "numbing_time_short")
    assert warning.level == "warn"
    assert "Applied 1 minutes before" in warning.reason
    page = doctor_client.get(session.get_absolute_url()).content.decode()
    assert "Numbing cream on for less than 20 minutes" in page
    services.session_sign(session=session, actor=actor)  # a warning does not stop the signing


def test_a_technique_other_than_the_plans_is_shown_and_recorded(doctor_client, doctor):
    plan = ActivePlanFactory(doctor=doctor, technique=Technique.NEEDLE_SYRINGE)
    SkinProfileFactory(patient=plan.patient)
    session = _draft(plan, doctor, technique=Technique.MESO_PEN)
    page = doctor_client.get(session.get_absolute_url()).content.decode()
    assert "Technique differs from the plan" in page
    assert "differs from the plan: Needle and syringe" in page
    assert "Planned: Needle and syringe; recorded for this session: Meso-pen" in page


def test_a_120_minute_session_is_refused(actor, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    fields = {"performed_at": timezone.now(), "technique": plan.technique, "areas": ["forehead"]}
    with pytest.raises(ValidationError) as error:
        services.session_record(plan=plan, fields=fields | {"duration_minutes": 120}, usages=[], actor=actor)
    assert "at most 60 minutes" in str(error.value.message_dict["duration_minutes"])
    assert not TreatmentSession.objects.exists()


def test_the_database_refuses_a_session_longer_than_an_hour(doctor):
    session = TreatmentSessionFactory()
    with pytest.raises(Exception, match="session_duration_at_most_an_hour"), transaction.atomic():
        TreatmentSession.objects.filter(pk=session.pk).update(duration_minutes=120)


def test_mesotherapy_appointment_type_is_limited_to_an_hour():
    meso = AppointmentType.objects.get(name="Mesotherapy session")
    assert meso.duration_minutes == 45
    meso.duration_minutes = 90
    with pytest.raises(ValidationError, match="at most 60 minutes"):
        meso.full_clean()
    review = AppointmentType(name="Long review", duration_minutes=90)
    review.full_clean()  # not a course session: no limit beyond the usual range


# Locked in PostgreSQL -------------------------------------------------------------------


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_database_refuses_changing_a_signed_session():
    session = SignedSessionFactory(notes="As recorded")
    with pytest.raises(ProgrammingError, match="is locked"):
        _raw("UPDATE treatments_treatmentsession SET notes = %s WHERE id = %s", ["Rewritten", session.pk])
    with pytest.raises(ProgrammingError, match="is locked"):
        _raw("UPDATE treatments_treatmentsession SET status = 'draft', signed_at = NULL WHERE id = %s", [session.pk])
    session.refresh_from_db()
    assert (session.notes, session.status) == ("As recorded", "signed")


def test_database_refuses_deleting_a_signed_session_or_consultation():
    session = SignedSessionFactory()
    with pytest.raises(ProgrammingError, match="cannot be deleted"):
        _raw("DELETE FROM treatments_treatmentsession WHERE id = %s", [session.pk])
    consultation = SignedConsultationFactory()
    with pytest.raises(ProgrammingError, match="cannot be deleted"):
        _raw("DELETE FROM treatments_consultation WHERE id = %s", [consultation.pk])


def test_database_refuses_changing_a_signed_consultation_but_takes_addenda(doctor):
    consultation = SignedConsultationFactory(assessment="Good candidate")
    with pytest.raises(ProgrammingError, match="is locked"):
        _raw("UPDATE treatments_consultation SET assessment = %s WHERE id = %s", ["Rewritten", consultation.pk])
    ConsultationAddendum.objects.create(consultation=consultation, author=doctor, text="Correction")
    Consultation.objects.filter(pk=consultation.pk).update(updated_at=timezone.now())  # bookkeeping only
    consultation.refresh_from_db()
    assert consultation.assessment == "Good candidate"


def test_drafts_stay_editable_and_deletable_in_the_database():
    session = TreatmentSessionFactory(notes="Draft")
    TreatmentSession.objects.filter(pk=session.pk).update(notes="Changed")
    session.refresh_from_db()
    assert session.notes == "Changed"
    session.delete()
    assert not TreatmentSession.objects.filter(pk=session.pk).exists()
