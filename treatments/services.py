"""Writes of treatment records. Each function is keyword-only, validates with full_clean(),
writes its audit entry in the same transaction, and refuses to change a signed record.

Patient emails (aftercare, course completed, maintenance recall) are written to the outbox
in the same transaction as the change that causes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic import dates
from clinic.audit import Actor, audit_record
from clinic.localtime import clock_reaches, day_bounds
from clinic.models import AuditEntry
from clinic.services import apply_fields
from messaging import keys
from messaging.models import ScheduledMessage
from messaging.services import message_schedule, messages_cancel, messages_schedule_once
from patients.models import Patient
from treatments import hooks
from treatments.models import (
    MAX_MAINTENANCE_MONTHS,
    MAX_SESSION_MINUTES,
    MAX_SESSIONS,
    MIN_MAINTENANCE_MONTHS,
    MIN_SESSIONS,
    Batch,
    BatchUsage,
    Consultation,
    ConsultationAddendum,
    FollowUpTask,
    MaintenanceRecall,
    OutcomeRating,
    PlanProduct,
    Product,
    SafetyOverride,
    SessionAddendum,
    SessionFollowUp,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.safety import SafetyCheck, safety_check

Action = AuditEntry.Action
Kind = ScheduledMessage.Kind

# Emails go at these local hours; on a day the clocks skip or repeat the hour they are sent
# when the clock first reaches it (clinic.localtime.clock_reaches), never refused.
AFTERCARE_AT = time(18, 0)
RECALL_AT = time(10, 0)
# The morning after a session: bruising is expected to have faded by then.
NEXT_DAY_CHECK_AT = time(9, 0)
NEXT_DAY_CHECK_LATEST = timedelta(hours=12)
# A session is recorded during or after it; a few minutes of clock drift are tolerated.
FUTURE_TOLERANCE = timedelta(minutes=15)


def _doctor_name(user) -> str:
    return f"Dr {user.get_full_name() or user.get_username()}"


# A form posted twice (a double click, the browser's back button and "send again") must not
# write its record twice: the same record by the same person within this window is the same.
DOUBLE_POST_WINDOW = timedelta(seconds=60)


class AlreadyRecorded(ValidationError):
    """Nothing was written because ``existing`` already stands for it (the same record posted
    twice, or a draft still open); the page goes to ``existing`` and says so."""

    def __init__(self, message: str, existing):
        super().__init__(message)
        self.existing = existing


def _recently(field: str = "created_at") -> dict[str, datetime]:
    return {f"{field}__gte": timezone.now() - DOUBLE_POST_WINDOW}


def _same_fields(record, other, names) -> bool:
    return all(getattr(record, name) == getattr(other, name) for name in names)


# Consultation ------------------------------------------------------------------------

CONSULTATION_FIELDS = (
    "consulted_on", "concerns", "concerns_other", "goals", "examination", "history_reviewed", "history_changes",
    "routine_reviewed", "routine_changes", "assessment", "suitability",
)  # fmt: skip


def _check_consultation_editable(consultation: Consultation, actor: Actor) -> None:
    if consultation.is_signed:
        raise ValidationError("This consultation is signed and locked: add an addendum to correct it.")
    if consultation.doctor_id != actor.user.pk:
        raise ValidationError(f"Only {_doctor_name(consultation.doctor)}, who wrote this draft, can change or sign it.")


@transaction.atomic
def consultation_create(*, patient: Patient, fields: dict[str, Any], actor: Actor) -> Consultation:
    consultation = Consultation(patient=patient, doctor=actor.user)
    apply_fields(consultation, fields, CONSULTATION_FIELDS)
    _check_record_date("consulted_on", consultation.consulted_on)
    consultation.full_clean()
    # The patient's row serialises two posts of the same form: the second finds the first.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    recent = Consultation.objects.filter(
        patient=patient, doctor=actor.user, status=Consultation.Status.DRAFT, **_recently()
    )
    for draft in recent.order_by("created_at", "id"):
        if _same_fields(draft, consultation, CONSULTATION_FIELDS):
            raise AlreadyRecorded("This consultation was saved a moment ago: here is its draft.", draft)
    consultation.save()
    audit_record(actor=actor, action=Action.CREATE, patient=patient, obj=consultation)
    return consultation


@transaction.atomic
def consultation_update(*, consultation: Consultation, fields: dict[str, Any], actor: Actor) -> Consultation:
    consultation = Consultation.objects.select_for_update().select_related("doctor").get(pk=consultation.pk)
    _check_consultation_editable(consultation, actor)
    apply_fields(consultation, fields, CONSULTATION_FIELDS)
    _check_record_date("consulted_on", consultation.consulted_on)
    consultation.full_clean()
    consultation.save()
    audit_record(actor=actor, action=Action.UPDATE, patient=consultation.patient, obj=consultation)
    return consultation


@transaction.atomic
def consultation_sign(*, consultation: Consultation, actor: Actor) -> Consultation:
    consultation = Consultation.objects.select_for_update().select_related("doctor").get(pk=consultation.pk)
    _check_consultation_editable(consultation, actor)
    errors: dict[str, str] = {}
    if not consultation.history_reviewed:
        errors["history_reviewed"] = "Confirm that the medical history was reviewed with the patient before signing."
    if not consultation.routine_reviewed:
        errors["routine_reviewed"] = "Confirm that the skin routine was reviewed with the patient before signing."
    if not consultation.assessment.strip():
        errors["assessment"] = "Write the assessment before signing."
    if not consultation.suitability:
        errors["suitability"] = "Say whether mesotherapy is suitable before signing."
    if errors:
        raise ValidationError(errors)
    consultation.status = Consultation.Status.SIGNED
    consultation.signed_at = timezone.now()
    consultation.full_clean()
    consultation.save()
    audit_record(actor=actor, action=Action.SIGN, patient=consultation.patient, obj=consultation)
    return consultation


def _refuse_repeated_addendum(addenda, addendum) -> None:
    """The same words by the same author to the same record a moment ago: posted twice. The
    caller holds the record's row lock, so two posts at once are told apart too."""
    if addenda.filter(author=addendum.author, text=addendum.text, **_recently("written_at")).exists():
        raise AlreadyRecorded("This addendum was added a moment ago; it was not added twice.", addendum)


@transaction.atomic
def consultation_addendum_add(*, consultation: Consultation, text: str, actor: Actor) -> ConsultationAddendum:
    consultation = Consultation.objects.select_for_update().select_related("patient").get(pk=consultation.pk)
    if not consultation.is_signed:
        raise ValidationError("This consultation is still a draft: edit it instead of adding an addendum.")
    addendum = ConsultationAddendum(consultation=consultation, author=actor.user, text=text.strip())
    if not addendum.text:
        raise ValidationError({"text": "Write the correction or addition."})
    addendum.full_clean()
    _refuse_repeated_addendum(consultation.addenda, addendum)
    addendum.save()
    audit_record(actor=actor, action=Action.ADDENDUM, patient=consultation.patient, obj=consultation)
    return addendum


# Treatment plan ----------------------------------------------------------------------

PLAN_FIELDS = (
    "session_count",
    "maintenance_interval_months",
    "technique",
    "numbing_cream",
    "areas",
    "starts_on",
    "notes",
)


@dataclass(frozen=True)
class CocktailItem:
    product: Product
    amount_per_session: Decimal


def _check_record_date(name: str, day: date | None) -> None:
    """A record's date from any caller, not only a form: within the clinic's records (clinic/dates.py)."""
    if isinstance(day, date) and (problem := dates.RECORD.error(day)):
        raise ValidationError({name: problem})


def _check_plan_ranges(fields: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    starts_on = fields.get("starts_on")
    if isinstance(starts_on, date) and (problem := dates.PLAN_START.error(starts_on)):
        errors["starts_on"] = problem
    count = fields.get("session_count")
    if count is None or not MIN_SESSIONS <= count <= MAX_SESSIONS:
        errors["session_count"] = f"A course has from {MIN_SESSIONS} to {MAX_SESSIONS} sessions, one week apart" + (
            f"; {count} is outside that range." if count is not None else "."
        )
    months = fields.get("maintenance_interval_months")
    if months is None or not MIN_MAINTENANCE_MONTHS <= months <= MAX_MAINTENANCE_MONTHS:
        errors["maintenance_interval_months"] = (
            f"Maintenance is every {MIN_MAINTENANCE_MONTHS} to {MAX_MAINTENANCE_MONTHS} months"
            + (f"; {months} is outside that range." if months is not None else ".")
        )
    if not fields.get("areas"):
        errors["areas"] = "Choose at least one facial area."
    if errors:
        raise ValidationError(errors)


def _check_cocktail(cocktail: list[CocktailItem]) -> None:
    if not cocktail:
        raise ValidationError({"cocktail": "Choose at least one product for the cocktail."})
    seen: set[int] = set()
    for item in cocktail:
        if item.product.pk in seen:
            raise ValidationError({"cocktail": f"{item.product.name} is listed twice: list each product once."})
        seen.add(item.product.pk)
        if item.amount_per_session is None or item.amount_per_session <= 0:
            raise ValidationError({"cocktail": f"Give the amount of {item.product.name} per session (more than 0 ml)."})
        if not item.product.is_active:
            raise ValidationError({"cocktail": f"{item.product.name} is no longer in use in the formulary."})


def plan_safety_check(*, plan: TreatmentPlan, on: date | None = None) -> SafetyCheck:
    return safety_check(patient=plan.patient, plan=plan, on=on or timezone.localdate())


def _refuse_gates(check: SafetyCheck) -> None:
    """A precondition not met (consent) is refused outright: no override lifts it."""
    if check.gates:
        raise ValidationError([f"{finding.reason} ({finding.source})" for finding in check.gates])


def _record_overrides(
    *,
    check: SafetyCheck,
    overrides: dict[str, str],
    plan: TreatmentPlan,
    session: TreatmentSession | None,
    actor: Actor,
    dry_run: bool = False,
) -> None:
    """Record the doctor's reasons for the blocking findings; refuse if any is left without one."""
    missing = []
    for finding in check.blocking:
        reason = (overrides.get(finding.code) or "").strip()
        if not reason:
            missing.append(finding)
            continue
        if dry_run:
            continue
        override = SafetyOverride(
            patient=plan.patient,
            plan=plan,
            session=session,
            finding_code=finding.code,
            finding=finding.title[:300],
            reason=reason,
            overridden_by=actor.user,
        )
        override.full_clean()
        override.save()
        finding.override = override
        audit_record(actor=actor, action=Action.OVERRIDE, patient=plan.patient, obj=override)
    if missing:
        raise ValidationError(
            {
                "overrides": [
                    f"{finding.title} blocks treatment — {finding.reason} ({finding.source}). "
                    "Write a reason to override it."
                    for finding in missing
                ]
            }
        )


@transaction.atomic
def plan_create(
    *, consultation: Consultation, fields: dict[str, Any], cocktail: list[CocktailItem], actor: Actor
) -> TreatmentPlan:
    """A proposed plan made from a signed consultation. The same plan posted twice is made once."""
    # Two posts of the plan form queue here: the second finds the plan the first made.
    Consultation.objects.select_for_update().filter(pk=consultation.pk).first()
    if not consultation.is_signed:
        raise ValidationError("Sign the consultation before making a plan from it.")
    if not consultation.history_reviewed:
        raise ValidationError(
            f"The medical history was not reviewed in the consultation of {consultation.consulted_on:%d/%m/%Y}: "
            "review it with the patient in a signed consultation before making a plan."
        )
    if consultation.suitability == Consultation.Suitability.NOT_SUITABLE:
        raise ValidationError(
            f"The consultation of {consultation.consulted_on:%d/%m/%Y} found mesotherapy not suitable for this "
            "patient (rule consultation_not_suitable)."
        )
    _check_plan_ranges(fields)
    _check_cocktail(cocktail)
    plan = TreatmentPlan(patient=consultation.patient, doctor=actor.user, consultation=consultation)
    apply_fields(plan, fields, PLAN_FIELDS)
    plan.full_clean()
    _refuse_repeated_plan(plan, cocktail)
    plan.save()
    for item in cocktail:
        PlanProduct.objects.create(plan=plan, product=item.product, amount_per_session=item.amount_per_session)
    audit_record(actor=actor, action=Action.CREATE, patient=plan.patient, obj=plan)
    return plan


def _refuse_repeated_plan(plan: TreatmentPlan, cocktail: list[CocktailItem]) -> None:
    recent = TreatmentPlan.objects.filter(
        consultation=plan.consultation, doctor=plan.doctor, status=TreatmentPlan.Status.PROPOSED, **_recently()
    ).prefetch_related("plan_products")
    wanted = {(item.product.pk, item.amount_per_session) for item in cocktail}
    for other in recent.order_by("created_at", "id"):
        same_cocktail = {(item.product_id, item.amount_per_session) for item in other.plan_products.all()} == wanted
        if same_cocktail and _same_fields(other, plan, PLAN_FIELDS):
            raise AlreadyRecorded("This plan was proposed a moment ago: here it is.", other)


@transaction.atomic
def plan_update(
    *, plan: TreatmentPlan, fields: dict[str, Any], cocktail: list[CocktailItem], actor: Actor
) -> TreatmentPlan:
    """Change a plan that has not started yet; once started, a course is cancelled, not rewritten."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != TreatmentPlan.Status.PROPOSED:
        raise ValidationError(f"Only a proposed plan can be changed; this one is {plan.get_status_display().lower()}.")
    _check_plan_ranges(fields)
    _check_cocktail(cocktail)
    apply_fields(plan, fields, PLAN_FIELDS)
    plan.full_clean()
    plan.save()
    plan.plan_products.all().delete()
    PlanProduct.objects.bulk_create(
        [PlanProduct(plan=plan, product=item.product, amount_per_session=item.amount_per_session) for item in cocktail]
    )
    audit_record(actor=actor, action=Action.UPDATE, patient=plan.patient, obj=plan)
    return plan


@transaction.atomic
def plan_activate(*, plan: TreatmentPlan, actor: Actor, overrides: dict[str, str] | None = None) -> TreatmentPlan:
    """Start the course. Blocking safety findings need a written reason each."""
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != TreatmentPlan.Status.PROPOSED:
        raise ValidationError(f"Only a proposed plan can be started; this one is {plan.get_status_display().lower()}.")
    # Lock the patient's row so that two plans of one patient cannot be started at once.
    Patient.objects.select_for_update().filter(pk=plan.patient_id).first()
    running = TreatmentPlan.objects.filter(patient_id=plan.patient_id, status=TreatmentPlan.Status.ACTIVE)
    if running.exists():
        raise ValidationError("This patient already has a course under way: complete or cancel it first.")
    check = plan_safety_check(plan=plan)
    _refuse_gates(check)
    _record_overrides(check=check, overrides=overrides or {}, plan=plan, session=None, actor=actor)
    plan.status = TreatmentPlan.Status.ACTIVE
    plan.activated_at = timezone.now()
    plan.full_clean()
    plan.save()
    audit_record(actor=actor, action=Action.UPDATE, patient=plan.patient, obj=plan)
    return plan


def _plan_message_keys(plan: TreatmentPlan) -> list[str]:
    return [keys.message_key(plan.subject_ref, kind) for kind in (Kind.COURSE_COMPLETED, Kind.MAINTENANCE_RECALL)]


def plan_cancel_refusal(plan: TreatmentPlan) -> str:
    """Why ``plan`` cannot be cancelled, or "": only a course not yet finished (proposed or under
    way) is cancelled; a completed one stands, with its maintenance recall."""
    if plan.status == TreatmentPlan.Status.CANCELLED:
        return "This plan is already cancelled."
    if plan.status == TreatmentPlan.Status.COMPLETED:
        return "This course is completed: a completed plan cannot be cancelled."
    return ""


@transaction.atomic
def plan_cancel(*, plan: TreatmentPlan, reason: str, actor: Actor) -> TreatmentPlan:
    plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for cancelling the plan."})
    refusal = plan_cancel_refusal(plan)
    if refusal:
        raise ValidationError(refusal)
    plan.status = TreatmentPlan.Status.CANCELLED
    plan.cancelled_at = timezone.now()
    plan.cancelled_by = actor.user
    plan.cancellation_reason = reason
    plan.full_clean()
    plan.save()
    messages_cancel(dedupe_keys=_plan_message_keys(plan), subject_ref=plan.subject_ref, reason="Plan cancelled.")
    # Its booked sessions are cancelled with it (scheduling's action, see treatments.hooks).
    hooks.plan_cancelled(plan=plan, actor=actor)
    audit_record(actor=actor, action=Action.UPDATE, patient=plan.patient, obj=plan)
    return plan


# Session record ----------------------------------------------------------------------

SESSION_FIELDS = (
    "performed_at", "numbing_applied_at", "technique", "areas", "injection_sites", "duration_minutes", "pain_score",
    "reactions", "reactions_other", "aftercare_given", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class UsageItem:
    batch: Batch
    amount: Decimal


def batch_problem(batch: Batch, *, on: date, amount: Decimal | None = None) -> str:
    """Why ``batch`` cannot be recorded as used on ``on`` (empty string if it can)."""
    label = f"{batch.product.name} lot {batch.lot_number}"
    if batch.is_recalled:
        return f"{label} has been recalled and cannot be used."
    if batch.is_expired_on(on):
        return f"{label} expired on {batch.expiry_date:%d/%m/%Y} and cannot be used."
    if batch.quantity_in_stock <= 0:
        return f"{label} is out of stock."
    if amount is not None and amount > batch.quantity_in_stock:
        return f"{label} has only {batch.quantity_in_stock} ml in stock; {amount} ml cannot be recorded."
    return ""


def _check_usages(usages: list[UsageItem], *, on: date) -> None:
    seen: set[int] = set()
    problems = []
    for usage in usages:
        if usage.batch.pk in seen:
            problems.append(f"{usage.batch} is listed twice: list each batch once.")
        seen.add(usage.batch.pk)
        if usage.amount is None or usage.amount <= 0:
            problems.append(f"Give the amount used of {usage.batch} (more than 0 ml).")
            continue
        problem = batch_problem(usage.batch, on=on, amount=usage.amount)
        if problem:
            problems.append(problem)
    if problems:
        raise ValidationError({"batches": problems})


def _validate_session(session: TreatmentSession) -> None:
    """The model's own validation and the session rules, reported together."""
    errors: dict[str, list[str]] = {}
    try:
        session.full_clean(exclude=["plan", "patient"])
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        _check_session_fields(session)
    except ValidationError as error:
        errors.update(error.message_dict)  # the friendlier message wins for the same field
    if errors:
        raise ValidationError(errors)


def _check_session_fields(session: TreatmentSession) -> None:
    errors: dict[str, str] = {}
    if session.performed_at is None:
        raise ValidationError({"performed_at": "Give the session's date and time."})
    for name in ("performed_at", "numbing_applied_at"):
        if getattr(session, name) is not None:
            try:
                dates.RECORD.check_instant(getattr(session, name))
            except ValidationError as error:
                raise ValidationError({name: error.messages}) from None
    if not session.areas:
        errors["areas"] = "Choose at least one facial area treated."
    if session.numbing_applied_at is not None and session.numbing_applied_at > session.performed_at:
        errors["numbing_applied_at"] = "The numbing cream is applied before the session starts."
    if session.duration_minutes is not None and session.duration_minutes > MAX_SESSION_MINUTES:
        errors["duration_minutes"] = (
            f"A mesotherapy session takes at most {MAX_SESSION_MINUTES} minutes; "
            f"{session.duration_minutes} minutes cannot be recorded."
        )
    if session.performed_at > timezone.now() + FUTURE_TOLERANCE:
        errors["performed_at"] = "A session cannot be recorded in the future."
    if "other" in session.reactions and not session.reactions_other.strip():
        errors["reactions_other"] = "Describe the other reaction."
    if errors:
        raise ValidationError(errors)


def _replace_usages(session: TreatmentSession, usages: list[UsageItem]) -> None:
    session.batch_usages.all().delete()
    BatchUsage.objects.bulk_create(
        [BatchUsage(session=session, batch=usage.batch, amount=usage.amount) for usage in usages]
    )


def session_safety_check(*, plan: TreatmentPlan, on: date) -> SafetyCheck:
    return safety_check(patient=plan.patient, plan=plan, on=on)


def open_session_draft(plan: TreatmentPlan) -> TreatmentSession | None:
    """The plan's session record not signed yet, if any: a plan has one draft at a time, so
    that a form posted twice records one session."""
    return plan.sessions.filter(status=TreatmentSession.Status.DRAFT).order_by("number").first()


@transaction.atomic
def session_record(
    *,
    plan: TreatmentPlan,
    fields: dict[str, Any],
    usages: list[UsageItem],
    actor: Actor,
    overrides: dict[str, str] | None = None,
) -> TreatmentSession:
    """Record the next session of an active plan as a draft, after the safety check."""
    plan = TreatmentPlan.objects.select_for_update().select_related("patient", "consultation").get(pk=plan.pk)
    if plan.status != TreatmentPlan.Status.ACTIVE:
        raise ValidationError(
            f"Sessions are recorded for an active plan; this one is {plan.get_status_display().lower()}."
        )
    draft = open_session_draft(plan)
    if draft is not None:
        raise AlreadyRecorded(
            f"Session {draft.number} is a draft: sign or discard it before recording another session.", draft
        )
    number = plan.sessions.count() + 1
    if number > plan.session_count:
        raise ValidationError(f"All {plan.session_count} sessions of this plan are already recorded.")
    session = TreatmentSession(plan=plan, patient=plan.patient, doctor=actor.user, number=number)
    apply_fields(session, fields, SESSION_FIELDS)
    _validate_session(session)
    on = timezone.localtime(session.performed_at).date()
    _check_usages(usages, on=on)
    check = session_safety_check(plan=plan, on=on)
    session.save()
    _record_overrides(check=check, overrides=overrides or {}, plan=plan, session=session, actor=actor)
    _replace_usages(session, usages)
    audit_record(actor=actor, action=Action.CREATE, patient=plan.patient, obj=session)
    return session


def _check_session_editable(session: TreatmentSession, actor: Actor) -> None:
    if session.is_signed:
        raise ValidationError("This session record is signed and locked.")
    if session.doctor_id != actor.user.pk:
        raise ValidationError(f"Only {_doctor_name(session.doctor)}, who recorded this session, can change or sign it.")


@transaction.atomic
def session_update(
    *, session: TreatmentSession, fields: dict[str, Any], usages: list[UsageItem], actor: Actor
) -> TreatmentSession:
    session = TreatmentSession.objects.select_for_update().select_related("doctor", "patient").get(pk=session.pk)
    _check_session_editable(session, actor)
    apply_fields(session, fields, SESSION_FIELDS)
    _validate_session(session)
    _check_usages(usages, on=timezone.localtime(session.performed_at).date())
    session.save()
    _replace_usages(session, usages)
    audit_record(actor=actor, action=Action.UPDATE, patient=session.patient, obj=session)
    return session


@transaction.atomic
def session_discard(*, session: TreatmentSession, actor: Actor) -> None:
    """Throw away a draft recorded by mistake (or for a session that did not take place).
    Only the latest session of the course, so the numbers stay in sequence; signed records
    are never deleted. Overrides given for it stay on the plan."""
    session = TreatmentSession.objects.select_for_update().select_related("doctor", "patient").get(pk=session.pk)
    _check_session_editable(session, actor)
    if session.plan.sessions.filter(number__gt=session.number).exists():
        raise ValidationError("Only the latest session of the course can be discarded.")
    session.safety_overrides.update(session=None)
    audit_record(actor=actor, action=Action.DELETE, patient=session.patient, obj=session)
    session.delete()


def _take_stock(usage: BatchUsage, *, on: date) -> None:
    """Take ``usage.amount`` from its batch, under a row lock so two sessions signed at
    once cannot both take the last millilitres; the conditional update is the guard."""
    batch = Batch.objects.select_for_update().select_related("product").get(pk=usage.batch_id)
    problem = batch_problem(batch, on=on, amount=usage.amount)
    if problem:
        raise ValidationError({"batches": [problem]})
    updated = Batch.objects.filter(pk=batch.pk, quantity_in_stock__gte=usage.amount).update(
        quantity_in_stock=F("quantity_in_stock") - usage.amount
    )
    if updated != 1:  # pragma: no cover - the lock above makes this unreachable
        raise ValidationError({"batches": [f"{batch} does not have {usage.amount} ml in stock."]})


def session_sign_check(*, session: TreatmentSession) -> SafetyCheck:
    """The full check run at signing: the patient, the plan and the session record itself."""
    plan = session.plan
    return safety_check(
        patient=plan.patient, plan=plan, on=timezone.localtime(session.performed_at).date(), session=session
    )


@dataclass(frozen=True)
class StockTake:
    usage: BatchUsage
    left_after: Decimal


@dataclass(frozen=True)
class SignPreview:
    """What signing a session will lock and change, shown for confirmation before it is done."""

    session: TreatmentSession
    check: SafetyCheck
    stock: list[StockTake]
    overrides: list[tuple[str, str]]  # (finding, the doctor's reason)
    completes_plan: bool
    aftercare_at: datetime


def session_sign_preview(
    *, session: TreatmentSession, actor: Actor, overrides: dict[str, str] | None = None
) -> SignPreview:
    """Everything ``session_sign`` would refuse, refused now (as the same ValidationError),
    and what it would do otherwise; writes nothing."""
    session = TreatmentSession.objects.select_related("doctor", "patient", "plan__patient").get(pk=session.pk)
    _check_session_editable(session, actor)
    plan = session.plan
    if plan.status != TreatmentPlan.Status.ACTIVE:
        raise ValidationError(f"The plan is {plan.get_status_display().lower()}: this session cannot be signed.")
    _validate_session(session)
    check = session_sign_check(session=session)
    _refuse_gates(check)
    overrides = overrides or {}
    _record_overrides(check=check, overrides=overrides, plan=plan, session=session, actor=actor, dry_run=True)
    on = timezone.localtime(session.performed_at).date()
    usages = list(session.batch_usages.select_related("batch__product").order_by("batch_id"))
    problems = [problem for usage in usages if (problem := batch_problem(usage.batch, on=on, amount=usage.amount))]
    if problems:
        raise ValidationError({"batches": problems})
    signed = plan.sessions.filter(status=TreatmentSession.Status.SIGNED).count()
    return SignPreview(
        session=session,
        check=check,
        stock=[StockTake(usage, usage.batch.quantity_in_stock - usage.amount) for usage in usages],
        overrides=[(finding.title, overrides[finding.code].strip()) for finding in check.blocking],
        completes_plan=signed + 1 >= plan.session_count,
        aftercare_at=max(clock_reaches(on, AFTERCARE_AT), timezone.now()),
    )


@transaction.atomic
def session_sign(
    *, session: TreatmentSession, actor: Actor, overrides: dict[str, str] | None = None
) -> TreatmentSession:
    """Re-run the full safety check (consent in force, contraindications, spacing from the
    previous session), then lock the record, take the batches' stock, schedule the aftercare
    email and, at the last session, complete the plan and fix the maintenance due date. A
    refusal leaves the draft as it was (the transaction is rolled back)."""
    session = TreatmentSession.objects.select_for_update().select_related("doctor", "patient").get(pk=session.pk)
    _check_session_editable(session, actor)
    plan = TreatmentPlan.objects.select_for_update().select_related("patient", "consultation").get(pk=session.plan_id)
    if plan.status != TreatmentPlan.Status.ACTIVE:
        raise ValidationError(f"The plan is {plan.get_status_display().lower()}: this session cannot be signed.")
    session.plan = plan
    _validate_session(session)  # a draft saved before a rule was added is checked again
    check = session_sign_check(session=session)
    _refuse_gates(check)
    _record_overrides(check=check, overrides=overrides or {}, plan=plan, session=session, actor=actor)
    on = timezone.localtime(session.performed_at).date()
    usages = list(session.batch_usages.order_by("batch_id"))  # a fixed lock order avoids deadlocks
    for usage in usages:
        _take_stock(usage, on=on)
    now = timezone.now()
    session.status = TreatmentSession.Status.SIGNED
    session.signed_at = now
    session.save(update_fields=["status", "signed_at", "updated_at"])
    audit_record(actor=actor, action=Action.SIGN, patient=session.patient, obj=session)

    message_schedule(
        kind=Kind.AFTERCARE,
        patient=session.patient,
        due_at=max(clock_reaches(on, AFTERCARE_AT), now),
        dedupe_key=keys.message_key(session.subject_ref, Kind.AFTERCARE),
        subject_ref=session.subject_ref,
    )
    check_at = clock_reaches(on + timedelta(days=1), NEXT_DAY_CHECK_AT)
    if now - check_at < NEXT_DAY_CHECK_LATEST:  # a record signed days later asks no "this morning" question
        message_schedule(
            kind=Kind.NEXT_DAY_CHECK,
            patient=session.patient,
            due_at=max(check_at, now),
            dedupe_key=keys.message_key(session.subject_ref, Kind.NEXT_DAY_CHECK),
            subject_ref=session.subject_ref,
        )
    signed = list(plan.sessions.filter(status=TreatmentSession.Status.SIGNED).values_list("performed_at", flat=True))
    if len(signed) >= plan.session_count:
        # Maintenance counts from the last session given, whatever order the records were signed in.
        _plan_complete(plan=plan, last_session_on=timezone.localtime(max(signed)).date(), actor=actor)
    return session


def _plan_complete(*, plan: TreatmentPlan, last_session_on: date, actor: Actor) -> None:
    plan.status = TreatmentPlan.Status.COMPLETED
    plan.completed_at = timezone.now()
    plan.maintenance_due_on = plan.maintenance_due_after(last_session_on)
    plan.full_clean()
    plan.save()
    audit_record(actor=actor, action=Action.UPDATE, patient=plan.patient, obj=plan)
    message_schedule(
        kind=Kind.COURSE_COMPLETED,
        patient=plan.patient,
        due_at=timezone.now(),
        dedupe_key=keys.message_key(plan.subject_ref, Kind.COURSE_COMPLETED),
        subject_ref=plan.subject_ref,
        send_now=True,
    )
    message_schedule(
        kind=Kind.MAINTENANCE_RECALL,
        patient=plan.patient,
        due_at=clock_reaches(plan.maintenance_due_on, RECALL_AT),
        dedupe_key=keys.message_key(plan.subject_ref, Kind.MAINTENANCE_RECALL),
        subject_ref=plan.subject_ref,
    )


@transaction.atomic
def session_addendum_add(*, session: TreatmentSession, text: str, actor: Actor) -> SessionAddendum:
    session = TreatmentSession.objects.select_for_update().select_related("patient").get(pk=session.pk)
    if not session.is_signed:
        raise ValidationError("This session record is still a draft: edit it instead of adding an addendum.")
    addendum = SessionAddendum(session=session, author=actor.user, text=text.strip())
    if not addendum.text:
        raise ValidationError({"text": "Write the correction or addition."})
    addendum.full_clean()
    _refuse_repeated_addendum(session.addenda, addendum)
    addendum.save()
    audit_record(actor=actor, action=Action.ADDENDUM, patient=session.patient, obj=session)
    return addendum


# Outcomes ----------------------------------------------------------------------------


@transaction.atomic
def outcome_rating_record(
    *, session: TreatmentSession, rater: str, scores: dict[str, int], actor: Actor
) -> OutcomeRating:
    """Record the doctor's or the patient's rating of a session. A patient's rating is often
    given at the next visit, so it may be added after signing; once given it is not changed."""
    # Two posts at once queue on the session's row; the second sees the first rating.
    session = TreatmentSession.objects.select_for_update().select_related("patient").get(pk=session.pk)
    rating = OutcomeRating(session=session, rater=rater, recorded_by=actor.user)
    apply_fields(rating, scores, OutcomeRating.SCORES)
    existing = OutcomeRating.objects.filter(session=session, rater=rater).first()
    if existing is not None:
        repeated = existing.recorded_by_id == actor.user.pk and _same_fields(existing, rating, OutcomeRating.SCORES)
        if repeated and existing.recorded_at >= timezone.now() - DOUBLE_POST_WINDOW:
            raise AlreadyRecorded("This rating was recorded a moment ago; it was not recorded twice.", existing)
        raise ValidationError({"rater": "This rating is already recorded for the session and cannot be changed."})
    rating.full_clean()
    rating.save()
    audit_record(actor=actor, action=Action.CREATE, patient=session.patient, obj=rating)
    return rating


# Maintenance recall -------------------------------------------------------------------


def _recall_row(plan: TreatmentPlan) -> MaintenanceRecall:
    """The plan's recall row, locked; made (status due) on first use."""
    if plan.status != TreatmentPlan.Status.COMPLETED:
        raise ValidationError("Only a completed course is due for maintenance.")
    recall, _ = MaintenanceRecall.objects.select_for_update().get_or_create(
        plan=plan, defaults={"patient_id": plan.patient_id}
    )
    return recall


RECALL_CLOSED = {MaintenanceRecall.Status.DECLINED, MaintenanceRecall.Status.NOT_SUITABLE}


@transaction.atomic
def recall_update(*, plan: TreatmentPlan, status: str, notes: str, actor: Actor) -> MaintenanceRecall:
    """Record where the recall of ``plan`` stands. A change of status is written to the audit
    trail (who moved the patient to "declined", and when)."""
    recall = _recall_row(plan)
    if status not in MaintenanceRecall.Status.values:
        raise ValidationError({"status": "Choose one of the statuses listed."})
    changed = status != recall.status
    recall.notes = notes.strip()
    recall.updated_by = actor.user
    if changed:
        recall.status = status
        recall.status_changed_at = timezone.now()
    recall.full_clean()
    recall.save()
    if changed:
        audit_record(actor=actor, action=Action.UPDATE, patient=plan.patient, obj=recall)
    if status in RECALL_CLOSED:
        # A completed course is not cancelled; a patient who will not come back is not emailed.
        messages_cancel(
            dedupe_keys=[keys.message_key(plan.subject_ref, Kind.MAINTENANCE_RECALL)],
            reason=f"Maintenance recall {recall.get_status_display().lower()}.",
        )
    return recall


def recall_mark_booked(*, plan: TreatmentPlan, actor: Actor) -> MaintenanceRecall:
    """The patient booked the first session of the next course (scheduling calls this in the
    booking's transaction)."""
    recall = _recall_row(plan)
    if recall.status != MaintenanceRecall.Status.BOOKED:
        recall.status = MaintenanceRecall.Status.BOOKED
        recall.status_changed_at = timezone.now()
        recall.updated_by = actor.user
        recall.save()
        audit_record(actor=actor, action=Action.UPDATE, patient=plan.patient, obj=recall)
    return recall


@transaction.atomic
def recall_propose_next_course(*, plan: TreatmentPlan, actor: Actor) -> TreatmentPlan:
    """A proposed plan for the next course, a copy of the completed one (cocktail, technique,
    areas, sessions, interval) for the doctor to review and start. Once is enough: a second
    click returns the plan already proposed while it is still open."""
    recall = _recall_row(plan)
    if recall.next_plan is not None and recall.next_plan.is_open:
        return recall.next_plan
    if recall.status == MaintenanceRecall.Status.NOT_SUITABLE:
        raise ValidationError("This patient was marked not suitable for maintenance.")
    cocktail = [
        CocktailItem(product=item.product, amount_per_session=item.amount_per_session)
        for item in plan.plan_products.select_related("product")
    ]
    fields = {
        "session_count": plan.session_count,
        "maintenance_interval_months": plan.maintenance_interval_months,
        "technique": plan.technique,
        "numbing_cream": plan.numbing_cream,
        "areas": list(plan.areas),
        "starts_on": None,
        "notes": f"Maintenance course after the course completed on {timezone.localtime(plan.completed_at):%d %b %Y}."
        if plan.completed_at
        else "Maintenance course.",
    }
    next_plan = plan_create(consultation=plan.consultation, fields=fields, cocktail=cocktail, actor=actor)
    recall.next_plan = next_plan
    recall.updated_by = actor.user
    recall.save(update_fields=["next_plan", "updated_by", "updated_at"])
    return next_plan


# Next-day follow-up -------------------------------------------------------------------


class AlreadyAnswered(ValidationError):
    """The patient has answered the follow-up of this session already: the first answer stands."""

    def __init__(self, follow_up: SessionFollowUp):
        super().__init__("You have already answered for this session.")
        self.follow_up = follow_up


@transaction.atomic
def follow_up_answer(*, session: TreatmentSession, answer: str, concern: str = "") -> SessionFollowUp:
    """Record the patient's answer to the next-day email; a concern becomes a task for the
    doctor who gave the session. The first answer stands: a second one (a double click, or a
    change of mind) raises AlreadyAnswered, and the page asks the patient to call instead, so
    a concern is never overwritten by "all fine"."""
    session = TreatmentSession.objects.select_for_update().select_related("patient").get(pk=session.pk)
    existing = SessionFollowUp.objects.filter(session=session).first()
    if existing is not None:
        raise AlreadyAnswered(existing)
    if not session.is_signed:
        raise ValidationError("This session record is not complete yet.")
    concern = concern.strip() if answer == SessionFollowUp.Answer.CONCERN else ""
    follow_up = SessionFollowUp(session=session, patient=session.patient, answer=answer, concern=concern)
    if answer == SessionFollowUp.Answer.CONCERN and not concern:
        raise ValidationError({"concern": "Tell us what worries you."})
    follow_up.full_clean()
    follow_up.save()
    actor = Actor(user=None)
    audit_record(actor=actor, action=Action.CREATE, patient=session.patient, obj=follow_up)
    if answer == SessionFollowUp.Answer.CONCERN:
        task = FollowUpTask.objects.create(follow_up=follow_up, patient=session.patient, doctor=session.doctor)
        audit_record(actor=actor, action=Action.CREATE, patient=session.patient, obj=task)
    return follow_up


@transaction.atomic
def follow_up_task_done(*, task: FollowUpTask, actor: Actor) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
    if task.is_done:
        raise ValidationError("This task is already done.")
    task.done_at = timezone.now()
    task.done_by = actor.user
    task.save(update_fields=["done_at", "done_by"])
    audit_record(actor=actor, action=Action.UPDATE, patient=task.patient, obj=task)
    return task


# Batch recall ------------------------------------------------------------------------


@transaction.atomic
def batch_recall(*, batch: Batch, reason: str, recalled_on: date, actor: Actor) -> Batch:
    """Recall a batch: from then on it cannot be recorded or signed as used. Recalled today
    means now; an earlier date (the manufacturer's notice came in before) means its first
    instant. The patients who received it are told by ``batch_recall_notices_queue``."""
    batch = Batch.objects.select_for_update().select_related("product").get(pk=batch.pk)
    if batch.is_recalled:
        raise ValidationError(
            f"Lot {batch.lot_number} was already recalled on {timezone.localtime(batch.recalled_at):%d/%m/%Y}."
        )
    reason = reason.strip()
    errors = {}
    if not reason:
        errors["reason"] = "Give the reason for the recall (the manufacturer's notice, what is wrong with the lot)."
    today = timezone.localdate()
    if recalled_on is None or recalled_on > today:
        errors["recalled_on"] = "The recall date is today or a day before, never in the future."
    elif problem := dates.RECORD.error(recalled_on):
        errors["recalled_on"] = problem
    if errors:
        raise ValidationError(errors)
    batch.recalled_at = timezone.now() if recalled_on == today else day_bounds(recalled_on)[0]
    batch.recall_reason = reason
    batch.recalled_by = actor.user
    batch.full_clean()
    batch.save(update_fields=["recalled_at", "recall_reason", "recalled_by"])
    audit_record(actor=actor, action=Action.UPDATE, obj=batch, object_type="batch recall")
    return batch


@transaction.atomic
def batch_recall_notices_queue(*, batch: Batch, actor: Actor) -> int:
    """Queue one recall notice email to each patient who received the recalled ``batch``: one
    per patient and lot however many sessions used it or how often this is asked (the dedupe
    key says so). Returns how many were queued now."""
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    if not batch.is_recalled:
        raise ValidationError("Recall the batch before notifying the patients who received it.")
    kind = Kind.LOT_RECALL_NOTICE
    patient_ids = (
        TreatmentSession.objects.filter(batch_usages__batch=batch).values_list("patient_id", flat=True).distinct()
    )
    recipients = {keys.patient_message_key(batch.subject_ref, kind, pk): pk for pk in patient_ids}
    queued = messages_schedule_once(
        kind=kind, recipients=recipients, due_at=timezone.now(), subject_ref=batch.subject_ref, send_now=True
    )
    if queued:
        # One entry for the manager's action; each patient's notice is its own outbox row.
        audit_record(actor=actor, action=Action.CREATE, obj=batch, object_type="batch recall notices")
    return queued
