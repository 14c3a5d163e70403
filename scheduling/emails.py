"""Builders of the appointment emails (registered with the outbox from SchedulingConfig.ready).

A builder runs when the message is sent, not when it was scheduled: it reads the appointment
as it is now and skips the message when it no longer makes sense (cancelled, moved, over).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import localtime

from intake.emails import questionnaire_url
from intake.models import IntakeQuestionnaire
from messaging import keys
from messaging.emails import EmailContent, batch_subject, register_builder
from messaging.links import absolute_url, make_token
from messaging.models import ScheduledMessage
from scheduling.ics import appointment_ics, appointments_ics
from scheduling.models import Appointment, AppointmentChange
from treatments import emails as treatment_emails  # registered first: this module replaces its recall builder
from treatments.models import TreatmentPlan

Kind = ScheduledMessage.Kind
Status = Appointment.Status
CONFIRM_ACTION = "appointment_confirm"
CANCEL_ACTION = "appointment_cancel"


def appointment_link_version(appointment: Appointment) -> str:
    """What a confirm or cancel link is bound to besides the appointment: its start. A link
    sent before a move must not confirm or cancel the appointment at its new time."""
    return str(int(appointment.starts_at.timestamp()))


def link_is_current(appointment: Appointment, version: str | None) -> bool:
    if version is None:
        # Links sent before they carried the start: good only while the appointment was never moved.
        return not appointment.changes.filter(action=AppointmentChange.Action.MOVED).exists()
    return version == appointment_link_version(appointment)


def confirm_url(appointment: Appointment) -> str:
    token = make_token(CONFIRM_ACTION, appointment.pk, version=appointment_link_version(appointment))
    return absolute_url(reverse("scheduling:public_confirm", args=[token]))


def cancel_url(appointment: Appointment) -> str:
    token = make_token(CANCEL_ACTION, appointment.pk, version=appointment_link_version(appointment))
    return absolute_url(reverse("scheduling:public_cancel", args=[token]))


def cancel_deadline(appointment: Appointment):
    return appointment.starts_at - timedelta(hours=settings.APPOINTMENT_CANCEL_CUTOFF_HOURS)


def appointment_context(appointment: Appointment, *, links: bool = True) -> dict:
    now = timezone.now()
    return {
        "start": localtime(appointment.starts_at),
        "time_zone_name": localtime(appointment.starts_at).tzname(),
        "type_name": appointment.appointment_type.name,
        "duration_minutes": appointment.duration_minutes,
        "practitioner_name": appointment.practitioner.name,
        "confirm_url": confirm_url(appointment) if links and appointment.status == Status.BOOKED else "",
        "cancel_url": cancel_url(appointment) if links and now < cancel_deadline(appointment) else "",
        "cancel_cutoff_hours": settings.APPOINTMENT_CANCEL_CUTOFF_HOURS,
    }


def _appointments():
    # What the emails show (type, practitioner's name) and the calendar file needs (its
    # sequence counts the changes: prefetched, so that counting them is no query).
    changes = Prefetch("changes", queryset=AppointmentChange.objects.only("pk", "appointment_id"))
    related = ("practitioner__user", "appointment_type", "room", "plan")
    return Appointment.objects.select_related(*related).prefetch_related(changes)


def appointments_prefetch(messages: list[ScheduledMessage]) -> dict[str, Appointment]:
    """The appointments a delivery batch's messages are about, in two queries."""
    ids = {keys.ref_id(message.subject_ref, Appointment.SUBJECT) for message in messages} - {None}
    return {appointment.subject_ref: appointment for appointment in _appointments().filter(pk__in=ids)}


def _appointment_of(message: ScheduledMessage) -> Appointment | None:
    appointment_id = keys.ref_id(message.subject_ref, Appointment.SUBJECT)
    if appointment_id is None:
        return None
    return batch_subject(message, lambda: _appointments().filter(pk=appointment_id).first())


def _still_upcoming(message: ScheduledMessage, appointment: Appointment | None) -> str:
    """Why an email about an upcoming appointment should not be sent, or ""."""
    if appointment is None:
        return "The appointment no longer exists."
    if appointment.status == Status.CANCELLED:
        return "The appointment was cancelled."
    if not appointment.is_open:
        return f"The appointment is {appointment.get_status_display().lower()}."
    if appointment.starts_at <= timezone.now():
        return "The appointment has already started."
    key_start = keys.key_start(message.dedupe_key)
    if key_start is not None and key_start != keys.start_stamp(appointment.starts_at):
        return "The appointment moved; a message for the new time replaces this one."
    return ""


def _with_calendar(appointment: Appointment, context: dict) -> EmailContent:
    return EmailContent(
        context=context,
        attachments=[(f"appointment-{appointment.pk}.ics", appointment_ics(appointment), "text/calendar")],
    )


@register_builder(Kind.BOOKING_CONFIRMATION, prefetch=appointments_prefetch)
def booking_confirmation(message: ScheduledMessage) -> EmailContent:
    appointment = _appointment_of(message)
    skip = _still_upcoming(message, appointment)
    if skip:
        return EmailContent(skip=skip)
    context = {"appointment": appointment_context(appointment), "moved": keys.key_start(message.dedupe_key) is not None}
    return _with_calendar(appointment, context)


@register_builder(Kind.APPOINTMENT_REMINDER, prefetch=appointments_prefetch)
def appointment_reminder(message: ScheduledMessage) -> EmailContent:
    appointment = _appointment_of(message)
    skip = _still_upcoming(message, appointment)
    if skip:
        return EmailContent(skip=skip)
    return _with_calendar(appointment, {"appointment": appointment_context(appointment)})


@register_builder(Kind.NEXT_SESSION_REMINDER, prefetch=appointments_prefetch)
def next_session_reminder(message: ScheduledMessage) -> EmailContent:
    appointment = _appointment_of(message)
    skip = _still_upcoming(message, appointment)
    if skip:
        return EmailContent(skip=skip)
    if appointment.starts_at - timezone.now() <= timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS):
        return EmailContent(skip="The session is close enough for the appointment reminder to cover it.")
    context = {
        "appointment": appointment_context(appointment),
        "session_number": appointment.plan_session_number,
        "session_count": appointment.plan.session_count if appointment.plan else "",
    }
    return _with_calendar(appointment, context)


@register_builder(Kind.NO_SHOW_FOLLOW_UP, prefetch=appointments_prefetch)
def no_show_follow_up(message: ScheduledMessage) -> EmailContent:
    appointment = _appointment_of(message)
    if appointment is None or appointment.status != Status.NO_SHOW:
        return EmailContent(skip="The appointment is no longer marked as missed.")
    return EmailContent(context={"appointment": appointment_context(appointment, links=False)})


def _session_context(appointment: Appointment, **options) -> dict:
    return {**appointment_context(appointment, **options), "session_number": appointment.plan_session_number}


def _plan_of(message: ScheduledMessage) -> TreatmentPlan | None:
    plan_id = keys.ref_id(message.subject_ref, TreatmentPlan.SUBJECT)
    if plan_id is None:
        return None
    return TreatmentPlan.objects.filter(pk=plan_id, patient_id=message.patient_id).first()


@register_builder(Kind.COURSE_CONFIRMATION)
def course_confirmation(message: ScheduledMessage) -> EmailContent:
    """One email for a course booked at once: every session still booked, one calendar file
    holding them all (instead of one confirmation per session)."""
    plan = _plan_of(message)
    if plan is None:
        return EmailContent(skip="The treatment plan no longer exists.")
    sessions = list(
        plan.appointments.filter(status__in=Appointment.OPEN_STATUSES, starts_at__gt=timezone.now())
        .select_related("practitioner__user", "appointment_type")
        .prefetch_related("changes")
        .order_by("starts_at")
    )
    if not sessions:
        return EmailContent(skip="No session of the course is booked any more.")
    return EmailContent(
        context={"sessions": [_session_context(a) for a in sessions], "session_count": plan.session_count},
        attachments=[(f"course-{plan.pk}.ics", appointments_ics(sessions), "text/calendar")],
    )


@register_builder(Kind.APPOINTMENT_CANCELLED)
def appointment_cancelled(message: ScheduledMessage) -> EmailContent:
    """The patient is told what was cancelled: one appointment, or the sessions a cancelled
    plan took with it (those cancelled when the plan was)."""
    plan = _plan_of(message)
    if plan is not None:
        if plan.cancelled_at is None:
            return EmailContent(skip="The treatment plan is not cancelled.")
        cancelled = plan.appointments.filter(status=Status.CANCELLED, cancelled_at__gte=plan.cancelled_at)
    else:
        appointment = _appointment_of(message)
        if appointment is None:
            return EmailContent(skip="The appointment no longer exists.")
        if appointment.status != Status.CANCELLED:
            return EmailContent(skip="The appointment is no longer cancelled.")
        cancelled = Appointment.objects.filter(pk=appointment.pk)
    appointments = list(cancelled.select_related("practitioner__user", "appointment_type").order_by("starts_at"))
    if not appointments:
        return EmailContent(skip="No appointment was cancelled.")
    return EmailContent(
        context={
            "appointments": [_session_context(a, links=False) for a in appointments],
            "course": plan is not None,
        }
    )


# The maintenance recall (treatments' builder) with the link to book a lunchtime slot ----------

RECALL_BOOK_ACTION = "maintenance_recall_book"


def recall_book_url(plan_id: int) -> str:
    return absolute_url(reverse("scheduling:public_recall_book", args=[make_token(RECALL_BOOK_ACTION, plan_id)]))


@register_builder(Kind.MAINTENANCE_RECALL, prefetch=treatment_emails.plans_prefetch)
def build_maintenance_recall(message: ScheduledMessage) -> EmailContent:
    """Treatments decides whether the recall still makes sense; scheduling adds the link that
    books the first session of the next course (scheduling books, treatments does not)."""
    content = treatment_emails.build_maintenance_recall(message)
    plan_id = keys.ref_id(message.subject_ref, TreatmentPlan.SUBJECT)
    if not content.skip and plan_id is not None:
        content.context["book_url"] = recall_book_url(plan_id)
    return content


@register_builder(Kind.INTAKE_QUESTIONNAIRE, prefetch=appointments_prefetch)
def intake_questionnaire(message: ScheduledMessage) -> EmailContent:
    """The questionnaire asked for by a consultation booking (intake.services.questionnaire_request)."""
    appointment = _appointment_of(message)
    skip = _still_upcoming(message, appointment)
    if skip:
        return EmailContent(skip=skip)
    questionnaire = IntakeQuestionnaire.objects.filter(requested_for=message.subject_ref).first()
    if questionnaire is None:
        return EmailContent(skip="The questionnaire no longer exists.")
    if questionnaire.is_submitted:
        return EmailContent(skip="The patient has already sent the questionnaire.")
    return EmailContent(
        context={
            "appointment": appointment_context(appointment, links=False),
            "questionnaire_url": questionnaire_url(questionnaire),
            "link_days": settings.EMAIL_LINK_MAX_AGE_DAYS,
        }
    )
