"""Services: locking of signed records, plan ranges, stock and expiry rules, overrides,
completion of the course and the outbox rows each change writes."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.audit import Actor
from clinic.models import AuditEntry
from messaging.models import ScheduledMessage
from patients.models import HistoryItem
from tests.factories import HistoryItemFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    ConsultationFactory,
    ProductFactory,
    SignedConsultationFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from treatments import services
from treatments.models import (
    Batch,
    Consultation,
    FacialArea,
    NumbingCream,
    SafetyOverride,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def actor(doctor):
    return Actor(user=doctor, ip_address="10.0.0.1")


def plan_fields(**overrides):
    fields = {
        "session_count": 5,
        "maintenance_interval_months": 6,
        "technique": Technique.NEEDLE_SYRINGE,
        "numbing_cream": NumbingCream.EMLA,
        "areas": [FacialArea.FOREHEAD],
        "starts_on": datetime.date(2026, 3, 2),
        "notes": "",
    }
    fields.update(overrides)
    return fields


def session_fields(**overrides):
    fields = {
        "performed_at": timezone.now(),
        "numbing_applied_at": None,
        "technique": Technique.NEEDLE_SYRINGE,
        "areas": [FacialArea.CHEEK_LEFT],
        "injection_sites": "",
        "duration_minutes": 30,
        "pain_score": 3,
        "reactions": [],
        "reactions_other": "",
        "aftercare_given": "Standard sheet",
        "notes": "",
    }
    fields.update(overrides)
    return fields


def cocktail(amount="2.00"):
    return [services.CocktailItem(product=ProductFactory(), amount_per_session=Decimal(amount))]


# Consultation ------------------------------------------------------------------------


def test_consultation_draft_is_created_and_audited(actor):
    patient = PatientFactory()
    consultation = services.consultation_create(
        patient=patient, fields={"concerns": ["dull_skin"], "goals": "Glow"}, actor=actor
    )
    assert consultation.status == Consultation.Status.DRAFT
    assert AuditEntry.objects.filter(patient=patient, action="create", object_id=str(consultation.pk)).exists()


def test_signing_needs_review_confirmations_and_assessment(actor):
    consultation = ConsultationFactory(doctor=actor.user, history_reviewed=False, assessment="", suitability="")
    with pytest.raises(ValidationError) as error:
        services.consultation_sign(consultation=consultation, actor=actor)
    assert set(error.value.message_dict) == {"history_reviewed", "assessment", "suitability"}


def test_signed_consultation_is_locked(actor):
    consultation = ConsultationFactory(doctor=actor.user)
    services.consultation_sign(consultation=consultation, actor=actor)
    consultation.refresh_from_db()
    assert consultation.is_signed
    assert consultation.signed_at is not None
    with pytest.raises(ValidationError, match="signed and locked"):
        services.consultation_update(consultation=consultation, fields={"goals": "changed"}, actor=actor)
    with pytest.raises(ValidationError, match="signed and locked"):
        services.consultation_sign(consultation=consultation, actor=actor)
    assert AuditEntry.objects.filter(action="sign", object_id=str(consultation.pk)).count() == 1


def test_only_the_author_edits_a_draft(actor, other_doctor):
    consultation = ConsultationFactory(doctor=other_doctor)
    with pytest.raises(ValidationError, match="who wrote this draft"):
        services.consultation_update(consultation=consultation, fields={"goals": "x"}, actor=actor)


def test_addendum_only_on_signed_consultations_with_author_and_time(actor):
    draft = ConsultationFactory(doctor=actor.user)
    with pytest.raises(ValidationError, match="still a draft"):
        services.consultation_addendum_add(consultation=draft, text="x", actor=actor)
    signed = SignedConsultationFactory()
    with pytest.raises(ValidationError):
        services.consultation_addendum_add(consultation=signed, text="   ", actor=actor)
    addendum = services.consultation_addendum_add(consultation=signed, text="Also mentioned rosacea.", actor=actor)
    assert (addendum.author, addendum.written_at is not None) == (actor.user, True)
    assert AuditEntry.objects.filter(action="addendum", patient=signed.patient).exists()


# Plan --------------------------------------------------------------------------------


def test_plan_from_a_signed_consultation(actor):
    consultation = SignedConsultationFactory()
    plan = services.plan_create(consultation=consultation, fields=plan_fields(), cocktail=cocktail(), actor=actor)
    assert (plan.status, plan.patient, plan.doctor) == (TreatmentPlan.Status.PROPOSED, consultation.patient, actor.user)
    assert plan.plan_products.count() == 1
    assert plan.planned_dates() == [datetime.date(2026, 3, 2) + datetime.timedelta(weeks=n) for n in range(5)]
    assert AuditEntry.objects.filter(action="create", object_type="treatment plan").exists()


def test_plan_refused_from_a_draft_consultation(actor):
    with pytest.raises(ValidationError, match="Sign the consultation"):
        services.plan_create(consultation=ConsultationFactory(), fields=plan_fields(), cocktail=cocktail(), actor=actor)


def test_plan_refused_when_not_suitable(actor):
    consultation = SignedConsultationFactory(suitability=Consultation.Suitability.NOT_SUITABLE)
    with pytest.raises(ValidationError, match="not suitable"):
        services.plan_create(consultation=consultation, fields=plan_fields(), cocktail=cocktail(), actor=actor)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("session_count", 3, "from 4 to 6 sessions"),
        ("session_count", 7, "from 4 to 6 sessions"),
        ("maintenance_interval_months", 5, "every 6 to 12 months"),
        ("maintenance_interval_months", 13, "every 6 to 12 months"),
        ("areas", [], "at least one facial area"),
    ],
)
def test_plan_ranges_are_refused_with_the_allowed_range(actor, field, value, message):
    with pytest.raises(ValidationError) as error:
        services.plan_create(
            consultation=SignedConsultationFactory(),
            fields=plan_fields(**{field: value}),
            cocktail=cocktail(),
            actor=actor,
        )
    assert message in " ".join(error.value.message_dict[field])


def test_plan_needs_a_cocktail_with_positive_amounts(actor):
    consultation = SignedConsultationFactory()
    with pytest.raises(ValidationError, match="at least one product"):
        services.plan_create(consultation=consultation, fields=plan_fields(), cocktail=[], actor=actor)
    with pytest.raises(ValidationError, match="more than 0 ml"):
        services.plan_create(consultation=consultation, fields=plan_fields(), cocktail=cocktail("0"), actor=actor)


def test_database_refuses_out_of_range_plans():
    from django.db import IntegrityError

    plan = TreatmentPlanFactory()
    with pytest.raises(IntegrityError):
        TreatmentPlan.objects.filter(pk=plan.pk).update(session_count=7)


def test_activation_is_refused_while_a_blocking_finding_has_no_reason(actor):
    plan = TreatmentPlanFactory()
    SkinProfileFactory(patient=plan.patient)
    bleeding = HistoryItemFactory(
        patient=plan.patient, category="condition", code=HistoryItem.Code.BLEEDING_DISORDER, name="Von Willebrand"
    )
    with pytest.raises(ValidationError) as error:
        services.plan_activate(plan=plan, actor=actor)
    assert "Bleeding disorder: Von Willebrand blocks treatment" in error.value.message_dict["overrides"][0]
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.PROPOSED

    code = f"bleeding_disorder:{bleeding.lineage}"
    services.plan_activate(plan=plan, actor=actor, overrides={code: "Haematologist cleared, letter on file"})
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACTIVE
    override = SafetyOverride.objects.get()
    assert (override.finding_code, override.overridden_by) == (code, actor.user)
    assert AuditEntry.objects.filter(action="override", object_id=str(override.pk)).exists()


def test_activating_twice_is_refused(actor):
    plan = ActivePlanFactory()
    with pytest.raises(ValidationError, match="Only a proposed plan"):
        services.plan_activate(plan=plan, actor=actor)


def test_cancel_needs_a_reason_and_cancels_pending_messages(actor):
    plan = ActivePlanFactory()
    with pytest.raises(ValidationError, match="reason"):
        services.plan_cancel(plan=plan, reason="  ", actor=actor)
    ScheduledMessage.objects.create(
        kind="maintenance_recall",
        patient=plan.patient,
        due_at=timezone.now(),
        dedupe_key=f"plan:{plan.pk}:maintenance_recall",
        subject_ref=f"plan:{plan.pk}",
    )
    services.plan_cancel(plan=plan, reason="Patient moved abroad", actor=actor)
    plan.refresh_from_db()
    assert (plan.status, plan.cancellation_reason, plan.cancelled_by) == (
        "cancelled",
        "Patient moved abroad",
        actor.user,
    )
    assert ScheduledMessage.objects.get().status == ScheduledMessage.Status.CANCELLED


# Sessions ----------------------------------------------------------------------------


def test_session_needs_an_active_plan(actor):
    plan = TreatmentPlanFactory()
    with pytest.raises(ValidationError, match="active plan"):
        services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)


def test_session_numbers_follow_each_other(actor):
    plan = ActivePlanFactory(doctor=actor.user)
    SkinProfileFactory(patient=plan.patient)
    first = services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    TreatmentSession.objects.filter(pk=first.pk).update(status="signed", signed_at=timezone.now())
    second = services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    assert (first.number, second.number) == (1, 2)
    assert first.patient == plan.patient


@pytest.mark.parametrize(
    ("batch_kwargs", "message"),
    [
        ({"expiry_date": datetime.date(2020, 1, 1)}, "expired on 01/01/2020"),
        ({"recalled_at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), "recall_reason": "Sterility"}, "recalled"),
        ({"quantity_in_stock": Decimal("0")}, "out of stock"),
        ({"quantity_in_stock": Decimal("1.00")}, "only 1.00 ml in stock"),
    ],
)
def test_unusable_batches_are_refused(actor, batch_kwargs, message):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(**batch_kwargs)
    with pytest.raises(ValidationError) as error:
        services.session_record(
            plan=plan, fields=session_fields(), usages=[services.UsageItem(batch, Decimal("2.00"))], actor=actor
        )
    assert message in " ".join(error.value.message_dict["batches"])


def test_session_with_a_blocking_finding_needs_an_override(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient, pregnancy="breastfeeding")
    with pytest.raises(ValidationError, match="Breastfeeding blocks treatment"):
        services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    assert not TreatmentSession.objects.exists()
    session = services.session_record(
        plan=plan, fields=session_fields(), usages=[], actor=actor, overrides={"breastfeeding": "Weaned last week"}
    )
    assert SafetyOverride.objects.get().session == session


def test_signing_takes_stock_and_locks_the_record(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(quantity_in_stock=Decimal("10.00"))
    session = services.session_record(
        plan=plan, fields=session_fields(), usages=[services.UsageItem(batch, Decimal("2.50"))], actor=actor
    )
    batch.refresh_from_db()
    assert batch.quantity_in_stock == Decimal("10.00")  # a draft takes nothing yet
    services.session_sign(session=session, actor=actor)
    batch.refresh_from_db()
    assert batch.quantity_in_stock == Decimal("7.50")
    session.refresh_from_db()
    assert session.is_signed
    with pytest.raises(ValidationError, match="signed and locked"):
        services.session_update(session=session, fields={"notes": "x"}, usages=[], actor=actor)
    with pytest.raises(ValidationError, match="signed and locked"):
        services.session_sign(session=session, actor=actor)
    batch.refresh_from_db()
    assert batch.quantity_in_stock == Decimal("7.50")


def test_signing_refuses_when_stock_went_down_meanwhile(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory(quantity_in_stock=Decimal("3.00"))
    session = services.session_record(
        plan=plan, fields=session_fields(), usages=[services.UsageItem(batch, Decimal("2.00"))], actor=actor
    )
    Batch.objects.filter(pk=batch.pk).update(quantity_in_stock=Decimal("1.00"))
    with pytest.raises(ValidationError, match=r"only 1\.00 ml"):
        services.session_sign(session=session, actor=actor)
    session.refresh_from_db()
    assert not session.is_signed


def test_signing_refuses_a_batch_recalled_meanwhile(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    batch = BatchFactory()
    session = services.session_record(
        plan=plan, fields=session_fields(), usages=[services.UsageItem(batch, Decimal("1.00"))], actor=actor
    )
    Batch.objects.filter(pk=batch.pk).update(recalled_at=timezone.now(), recall_reason="Contamination")
    with pytest.raises(ValidationError, match="recalled"):
        services.session_sign(session=session, actor=actor)


def test_database_refuses_negative_stock():
    from django.db import IntegrityError

    batch = BatchFactory()
    with pytest.raises(IntegrityError):
        Batch.objects.filter(pk=batch.pk).update(quantity_in_stock=Decimal("-1"))


def test_session_form_rules(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        services.session_record(
            plan=plan,
            fields=session_fields(
                areas=[], numbing_applied_at=now + datetime.timedelta(minutes=5), performed_at=now, reactions=["other"]
            ),
            usages=[],
            actor=actor,
        )
    assert set(error.value.message_dict) == {"areas", "numbing_applied_at", "reactions_other"}
    with pytest.raises(ValidationError) as error:
        services.session_record(plan=plan, fields=session_fields(pain_score=11), usages=[], actor=actor)
    assert "pain_score" in error.value.message_dict


@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0, tzinfo=LONDON), tick=False)
def test_aftercare_is_due_at_six_pm_local_on_the_session_day(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    session = services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    services.session_sign(session=session, actor=actor)
    message = ScheduledMessage.objects.get(dedupe_key=f"session:{session.pk}:aftercare")
    assert message.kind == "aftercare"
    assert message.subject_ref == f"session:{session.pk}"
    assert message.due_at == datetime.datetime(2026, 3, 10, 18, 0, tzinfo=LONDON)


@time_machine.travel(datetime.datetime(2026, 3, 10, 19, 30, tzinfo=LONDON), tick=False)
def test_aftercare_is_due_now_when_signed_after_six(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    session = services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    services.session_sign(session=session, actor=actor)
    assert ScheduledMessage.objects.get(kind="aftercare").due_at == timezone.now()


@time_machine.travel(datetime.datetime(2026, 3, 27, 12, 0, tzinfo=LONDON), tick=False)
def test_completing_the_last_session_completes_the_plan_and_schedules_emails(actor):
    plan = ActivePlanFactory(session_count=4, maintenance_interval_months=6)
    SkinProfileFactory(patient=plan.patient)
    for number in (1, 2, 3):  # one week apart, as the check at signing requires
        TreatmentSessionFactory(
            plan=plan,
            number=number,
            status="signed",
            signed_at=timezone.now(),
            performed_at=timezone.now() - datetime.timedelta(weeks=4 - number),
        )
    last = services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    assert last.number == 4
    services.session_sign(session=last, actor=actor)
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.COMPLETED
    assert plan.maintenance_due_on == datetime.date(2026, 9, 27)
    assert plan.sessions_remaining == 0
    completed = ScheduledMessage.objects.get(dedupe_key=f"plan:{plan.pk}:course_completed")
    assert (completed.kind, completed.subject_ref, completed.due_at) == (
        "course_completed",
        f"plan:{plan.pk}",
        timezone.now(),
    )
    # 27 March is before the clocks change, 27 September after: 10:00 local both times.
    recall = ScheduledMessage.objects.get(dedupe_key=f"plan:{plan.pk}:maintenance_recall")
    assert recall.due_at == datetime.datetime(2026, 9, 27, 10, 0, tzinfo=LONDON)
    assert recall.due_at.astimezone(datetime.UTC).hour == 9
    with pytest.raises(ValidationError, match="this one is completed"):
        services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)


def test_maintenance_date_is_clamped_to_month_end():
    plan = ActivePlanFactory(maintenance_interval_months=6)
    assert plan.maintenance_due_after(datetime.date(2026, 8, 31)) == datetime.date(2027, 2, 28)


def test_a_completed_course_is_not_cancelled_and_declining_the_recall_stops_its_email(actor):
    plan = ActivePlanFactory(session_count=4)
    SkinProfileFactory(patient=plan.patient)
    for number in (1, 2, 3):  # one week apart, as the check at signing requires
        TreatmentSessionFactory(
            plan=plan,
            number=number,
            status="signed",
            signed_at=timezone.now(),
            performed_at=timezone.now() - datetime.timedelta(weeks=4 - number),
        )
    services.session_sign(
        session=services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor), actor=actor
    )
    plan.refresh_from_db()
    assert plan.status == "completed"
    with pytest.raises(ValidationError, match="a completed plan cannot be cancelled"):
        services.plan_cancel(plan=plan, reason="Patient asked not to be recalled", actor=actor)
    plan.refresh_from_db()
    assert (plan.status, plan.cancelled_at, plan.cancellation_reason) == ("completed", None, "")
    recall = ScheduledMessage.objects.get(kind="maintenance_recall")
    assert recall.status == ScheduledMessage.Status.PENDING
    services.recall_update(plan=plan, status="declined", notes="Asked not to be recalled", actor=actor)
    recall.refresh_from_db()
    assert recall.status == ScheduledMessage.Status.CANCELLED


def test_outcome_ratings_once_per_rater_and_in_range(actor):
    session = TreatmentSessionFactory()
    scores = {"hydration": 4, "radiance": 3, "fine_lines": 2, "satisfaction": 5}
    services.outcome_rating_record(session=session, rater="doctor", scores=scores, actor=actor)
    with pytest.raises(ValidationError, match="already recorded"):
        services.outcome_rating_record(session=session, rater="doctor", scores={**scores, "radiance": 4}, actor=actor)
    with pytest.raises(ValidationError) as error:
        services.outcome_rating_record(session=session, rater="patient", scores={**scores, "hydration": 6}, actor=actor)
    assert "hydration" in error.value.message_dict


@time_machine.travel(datetime.datetime(2026, 3, 29, 11, 0, tzinfo=LONDON), tick=False)
def test_aftercare_on_the_day_the_clocks_go_forward_is_six_pm_summer_time(actor):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    session = services.session_record(plan=plan, fields=session_fields(), usages=[], actor=actor)
    services.session_sign(session=session, actor=actor)
    due = ScheduledMessage.objects.get(kind="aftercare").due_at
    assert due.astimezone(datetime.UTC) == datetime.datetime(2026, 3, 29, 17, 0, tzinfo=datetime.UTC)


def test_maintenance_counts_from_the_latest_session_even_if_signed_earlier(actor):
    plan = ActivePlanFactory(session_count=4, maintenance_interval_months=12)
    SkinProfileFactory(patient=plan.patient)
    latest = timezone.now() - datetime.timedelta(days=1)
    for number in (1, 2):
        TreatmentSessionFactory(
            plan=plan,
            number=number,
            status="signed",
            signed_at=timezone.now(),
            performed_at=latest - datetime.timedelta(days=28 - 7 * number),
        )
    TreatmentSessionFactory(plan=plan, number=3, status="signed", signed_at=timezone.now(), performed_at=latest)
    late_record = TreatmentSessionFactory(
        plan=plan, number=4, doctor=actor.user, performed_at=latest - datetime.timedelta(days=7)
    )
    services.session_sign(session=late_record, actor=actor)
    plan.refresh_from_db()
    assert plan.maintenance_due_on == timezone.localtime(latest).date().replace(
        year=timezone.localtime(latest).year + 1
    )


def test_one_course_under_way_at_a_time(actor):
    running = ActivePlanFactory()
    proposed = TreatmentPlanFactory(consultation=running.consultation)
    with pytest.raises(ValidationError, match="already has a course under way"):
        services.plan_activate(plan=proposed, actor=actor)


def test_a_started_plan_is_not_rewritten(actor):
    plan = ActivePlanFactory()
    with pytest.raises(ValidationError, match="Only a proposed plan can be changed"):
        services.plan_update(plan=plan, fields=plan_fields(), cocktail=cocktail(), actor=actor)
