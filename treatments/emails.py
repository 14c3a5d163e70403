"""Builders of the patient emails that treatments causes: aftercare after a signed session,
the next-day skin check, course completed, the maintenance recall, and the notice of a
recalled batch. Each loads what its message is about and skips when the message no longer
makes sense. A message about no particular record (no subject_ref of this app) is sent with
the general wording of its templates.

The maintenance recall's link to book a lunchtime slot is added by scheduling (which books),
around the builder here (scheduling/emails.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from messaging import keys
from messaging.emails import EmailContent, batch_subject, register_builder
from messaging.links import absolute_url, make_token
from messaging.models import ScheduledMessage
from treatments.models import Batch, BatchUsage, TreatmentPlan, TreatmentSession


def plans_prefetch(messages: list[ScheduledMessage]) -> dict[str, TreatmentPlan]:
    """The plans a delivery batch's messages are about, in one query."""
    ids = {keys.ref_id(message.subject_ref, TreatmentPlan.SUBJECT) for message in messages} - {None}
    return {plan.subject_ref: plan for plan in TreatmentPlan.objects.filter(pk__in=ids)}


def _plan_of(message: ScheduledMessage) -> TreatmentPlan | None:
    plan_id = keys.ref_id(message.subject_ref, TreatmentPlan.SUBJECT)
    plan = batch_subject(message, lambda: TreatmentPlan.objects.filter(pk=plan_id).first())
    return plan if plan is not None and plan.patient_id == message.patient_id else None


def _sessions():
    # The plan for "session 2 of 5", the patient's answer for the skin check (None if none yet).
    return TreatmentSession.objects.select_related("plan", "follow_up")


def sessions_prefetch(messages: list[ScheduledMessage]) -> dict[str, TreatmentSession]:
    """The session records a delivery batch's messages are about, in one query."""
    ids = {keys.ref_id(message.subject_ref, TreatmentSession.SUBJECT) for message in messages} - {None}
    return {session.subject_ref: session for session in _sessions().filter(pk__in=ids)}


def _session_of(message: ScheduledMessage) -> TreatmentSession | None:
    session_id = keys.ref_id(message.subject_ref, TreatmentSession.SUBJECT)
    session = batch_subject(message, lambda: _sessions().filter(pk=session_id).first())
    return session if session is not None and session.patient_id == message.patient_id else None


@register_builder(ScheduledMessage.Kind.AFTERCARE, prefetch=sessions_prefetch)
def build_aftercare(message: ScheduledMessage) -> EmailContent:
    if keys.ref_id(message.subject_ref, TreatmentSession.SUBJECT) is None:
        return EmailContent()
    session = _session_of(message)
    if session is None:
        return EmailContent(skip="The session record no longer exists.")
    if not session.is_signed:
        return EmailContent(skip="The session record is not signed.")
    return EmailContent(
        context={
            "session_number": session.number,
            "session_count": session.plan.session_count,
            "session_day": session.performed_at,
        }
    )


FOLLOW_UP_ACTION = "session_follow_up"


def follow_up_url(session: TreatmentSession) -> str:
    return absolute_url(reverse("treatments:public_follow_up", args=[make_token(FOLLOW_UP_ACTION, session.pk)]))


@register_builder(ScheduledMessage.Kind.NEXT_DAY_CHECK, prefetch=sessions_prefetch)
def build_next_day_check(message: ScheduledMessage) -> EmailContent:
    session = _session_of(message)
    if session is None:
        return EmailContent(skip="The session record no longer exists.")
    if not session.is_signed:
        return EmailContent(skip="The session record is not signed.")
    if hasattr(session, "follow_up"):
        return EmailContent(skip="The patient has already told us how the skin is.")
    return EmailContent(context={"session_day": session.performed_at, "follow_up_url": follow_up_url(session)})


@register_builder(ScheduledMessage.Kind.COURSE_COMPLETED, prefetch=plans_prefetch)
def build_course_completed(message: ScheduledMessage) -> EmailContent:
    if keys.ref_id(message.subject_ref, TreatmentPlan.SUBJECT) is None:
        return EmailContent()
    plan = _plan_of(message)
    if plan is None:
        return EmailContent(skip="The treatment plan no longer exists.")
    if plan.status != TreatmentPlan.Status.COMPLETED:
        return EmailContent(skip=f"The treatment plan is {plan.get_status_display().lower()}, not completed.")
    return EmailContent(context={"session_count": plan.session_count, "maintenance_due_on": plan.maintenance_due_on})


@register_builder(ScheduledMessage.Kind.MAINTENANCE_RECALL, prefetch=plans_prefetch)
def build_maintenance_recall(message: ScheduledMessage) -> EmailContent:
    if keys.ref_id(message.subject_ref, TreatmentPlan.SUBJECT) is None:
        return EmailContent()
    plan = _plan_of(message)
    if plan is None:
        return EmailContent(skip="The treatment plan no longer exists.")
    if plan.status != TreatmentPlan.Status.COMPLETED:
        return EmailContent(skip=f"The treatment plan is {plan.get_status_display().lower()}, not completed.")
    newer = TreatmentPlan.objects.filter(patient_id=plan.patient_id, created_at__gt=plan.created_at).exclude(
        status=TreatmentPlan.Status.CANCELLED
    )
    if newer.exists():
        return EmailContent(skip="The patient has started a newer course since.")
    return EmailContent(
        context={"months_since": plan.maintenance_interval_months, "maintenance_due_on": plan.maintenance_due_on}
    )


@register_builder(ScheduledMessage.Kind.LOT_RECALL_NOTICE)
def build_lot_recall_notice(message: ScheduledMessage) -> EmailContent:
    batch_id = keys.ref_id(message.subject_ref, Batch.SUBJECT)
    if batch_id is None:
        return EmailContent(skip="The message is about no batch.")
    batch = Batch.objects.select_related("product").filter(pk=batch_id).first()
    if batch is None:
        return EmailContent(skip="The batch no longer exists.")
    if not batch.is_recalled:
        return EmailContent(skip="The batch is not recalled.")
    sessions = [
        timezone.localtime(usage.session.performed_at).date()
        for usage in BatchUsage.objects.filter(batch=batch, session__patient_id=message.patient_id)
        .select_related("session")
        .order_by("session__performed_at")
    ]
    if not sessions:
        return EmailContent(skip="The patient did not receive this batch.")
    return EmailContent(
        context={"product_name": batch.product.name, "lot_number": batch.lot_number, "session_days": sessions}
    )
