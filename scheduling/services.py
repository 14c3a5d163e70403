"""Writes of appointments. Each service validates (with a message that says why), writes in
one transaction with its history row and its outbox rows, and lets PostgreSQL's exclusion
constraints have the last word: a booking that loses a race gets SlotTaken, never a 500.

Bookings and moves first lock the rows of the practitioner, the patient and the room they
take, always in that order. Two people booking the same practitioner (or patient, or room) at
once then queue for a moment instead of inserting side by side: two concurrent inserts that
conflict on an exclusion constraint each wait for the other, and PostgreSQL breaks that
deadlock only after `deadlock_timeout`, failing one of them. The second in the queue sees
the first's appointment in its checks and is told why, with free alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.timezone import localtime
from psycopg2 import errorcodes

from clinic import dates
from clinic.audit import Actor
from clinic.localtime import clock_reaches
from intake.services import questionnaire_request
from messaging import keys
from messaging.models import ScheduledMessage
from messaging.services import message_schedule, messages_cancel
from scheduling import availability
from scheduling.availability import Clash, Unavailable
from scheduling.models import Appointment, AppointmentChange, AppointmentType, Practitioner, Room
from scheduling.waitlist.services import waitlist_offer_freed_slot
from treatments.models import MaintenanceRecall, TreatmentPlan
from treatments.services import recall_mark_booked

Status = Appointment.Status
Kind = ScheduledMessage.Kind

OVERLAP_CONSTRAINTS = {
    "appointment_no_practitioner_overlap": "The practitioner was just booked at this time by someone else.",
    "appointment_no_room_overlap": "The room was just booked at this time by someone else.",
    "appointment_no_patient_overlap": "The patient was just booked at this time by someone else.",
    "appointment_one_per_plan_session": "This session of the course was just booked by someone else.",
}
SLOT_TAKEN = "This slot was just taken."
# The appointment type (made by the migrations) that asks the patient for the intake questionnaire.
CONSULTATION_TYPE_NAME = "Consultation"
ALTERNATIVES_LIMIT = 5


class SlotTaken(ValidationError):
    """Another appointment holds this time (most often: another booking just won the race for
    it). ``reasons`` say what clashes; ``alternatives`` are free slots now."""

    def __init__(self, message: str, alternatives: Sequence[availability.Slot] = (), reasons: Sequence[str] = ()):
        super().__init__(message)
        self.alternatives = list(alternatives)
        self.reasons = list(reasons) or [message]


# Outbox --------------------------------------------------------------------------------


def reminder_key(appointment: Appointment) -> str:
    # Keyed by the start time: a reminder already sent is not sent again for the same time,
    # but a move to another time needs (and gets) a new one.
    return keys.message_key(appointment.subject_ref, Kind.APPOINTMENT_REMINDER, starts_at=appointment.starts_at)


def confirmation_key(appointment: Appointment, *, moved: bool = False) -> str:
    """The first booking's confirmation is sent once; each move's is keyed by its new time."""
    starts_at = appointment.starts_at if moved else None
    return keys.message_key(appointment.subject_ref, Kind.BOOKING_CONFIRMATION, starts_at=starts_at)


def schedule_reminder(appointment: Appointment, *, now: datetime) -> None:
    current = reminder_key(appointment)
    stale = ScheduledMessage.objects.filter(
        subject_ref=appointment.subject_ref, kind=Kind.APPOINTMENT_REMINDER, status=ScheduledMessage.Status.PENDING
    ).exclude(dedupe_key=current)
    messages_cancel(dedupe_keys=list(stale.values_list("dedupe_key", flat=True)), reason="The appointment moved.")
    due_at = appointment.starts_at - timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS)
    if due_at <= now:
        return  # booked inside the reminder window: the confirmation is enough
    message_schedule(
        kind=Kind.APPOINTMENT_REMINDER,
        patient=appointment.patient,
        due_at=due_at,
        dedupe_key=current,
        subject_ref=appointment.subject_ref,
    )


def course_confirmation_key(plan, first: Appointment) -> str:
    """One confirmation per booking of a course, keyed by its first session's start."""
    return keys.message_key(plan.subject_ref, Kind.COURSE_CONFIRMATION, starts_at=first.starts_at)


def cancellation_key(ref: str) -> str:
    """The one cancellation notice about an appointment, or about a cancelled plan's sessions."""
    return keys.message_key(ref, Kind.APPOINTMENT_CANCELLED)


def _schedule_cancellation_notice(*, patient, ref: str) -> None:
    message_schedule(
        kind=Kind.APPOINTMENT_CANCELLED,
        patient=patient,
        due_at=timezone.now(),
        dedupe_key=cancellation_key(ref),
        subject_ref=ref,
        send_now=True,
    )


def _schedule_confirmation(appointment: Appointment, *, now: datetime, moved: bool = False) -> None:
    message_schedule(
        kind=Kind.BOOKING_CONFIRMATION,
        patient=appointment.patient,
        due_at=now,
        dedupe_key=confirmation_key(appointment, moved=moved),
        subject_ref=appointment.subject_ref,
        send_now=True,
    )


def next_session_due_at(completed: Appointment) -> datetime:
    """10:00 local on the day after the completed session."""
    day = localtime(completed.starts_at).date() + timedelta(days=1)
    return clock_reaches(day, time(10, 0))


def _schedule_next_session_reminder(completed: Appointment) -> None:
    if completed.plan_id is None or completed.plan_session_number is None:
        return
    following = (
        Appointment.objects.filter(
            plan_id=completed.plan_id,
            plan_session_number__gt=completed.plan_session_number,
            status__in=Appointment.OPEN_STATUSES,
        )
        .order_by("plan_session_number")
        .first()
    )
    if following is None:
        return
    due_at = max(next_session_due_at(completed), timezone.now())
    if following.starts_at - due_at <= timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS):
        return  # the normal reminder covers a session that close
    message_schedule(
        kind=Kind.NEXT_SESSION_REMINDER,
        patient=following.patient,
        due_at=due_at,
        dedupe_key=keys.message_key(following.subject_ref, Kind.NEXT_SESSION_REMINDER),
        subject_ref=following.subject_ref,
    )


# Validation -----------------------------------------------------------------------------


def _availability_errors(appointment: Appointment, *, now: datetime, room_fixed: bool) -> tuple[list[str], Room | None]:
    """Every reason the appointment cannot be at its time, and a room for it if it can.

    With ``room_fixed`` the appointment's room must be free; otherwise any free room will do,
    the appointment's current room (or the practitioner's own) first.
    """
    errors: list[str] = []
    if appointment.ends_at <= appointment.starts_at:
        return [Unavailable.END_BEFORE_START], None
    if appointment.starts_at < now:
        errors.append(Unavailable.IN_THE_PAST)
    practitioner = appointment.practitioner
    if not practitioner.is_active or not practitioner.user.is_active:
        errors.append(Unavailable.NOT_TAKING_APPOINTMENTS.format(name=practitioner.name))
    if not appointment.appointment_type.is_active:
        errors.append(f"{appointment.appointment_type.name} appointments can no longer be booked.")
    if appointment.patient.is_archived:
        errors.append("This patient's record is archived: restore it before booking.")
    first_room_id = appointment.room_id or practitioner.default_room_id
    calendars = availability.Availability(
        start=appointment.starts_at,
        end=appointment.blocked_until,
        patient_id=appointment.patient_id,
        exclude_appointment_id=appointment.pk,
        # This practitioner's, patient's and room's appointments, not the whole clinic's.
        practitioner_ids=[practitioner.pk],
        room_ids=() if first_room_id is None else (first_room_id,),
    )
    problems, room = calendars.problems(
        practitioner,
        appointment.starts_at,
        appointment.ends_at,
        appointment.blocked_until,
        room=appointment.room if room_fixed else None,
        prefer=appointment.room if appointment.room_id is not None else practitioner.default_room,
    )
    return errors + problems, room


def _check_bookable_time(starts_at: datetime) -> None:
    """Refuse a start beyond the booking horizon (clinic/dates.py BOOKING), whoever asks, before
    any arithmetic on it (a year-9999 start plus the duration overflows). A start in the past
    is left to the availability check, which says so."""
    _, latest = dates.BOOKING.bounds()
    try:
        dates.CALENDAR.check_instant(starts_at)
    except ValidationError:
        raise ValidationError(dates.BOOKING.error(starts_at.replace(tzinfo=None).date())) from None
    if localtime(starts_at).date() > latest:
        raise ValidationError(dates.BOOKING.error(localtime(starts_at).date()))


def _refuse(appointment: Appointment, errors: list[str], *, booking: bool) -> None:
    """Raise the refusal: SlotTaken with free alternatives when other appointments are all
    that stand in the way (a booking from the slot finder then lost the slot since it was
    shown: "just taken"), otherwise every reason."""
    if not all(isinstance(error, Clash) for error in errors):
        raise ValidationError(errors)
    prefix = f"{SLOT_TAKEN} " if booking else ""
    raise SlotTaken(
        f"{prefix}{' '.join(errors)} Choose one of the free times below.",
        alternatives=_alternatives(appointment),
        reasons=errors,
    )


def _alternatives(appointment: Appointment) -> list[availability.Slot]:
    """Free slots near the one that was just taken, for the same type and practitioner (or
    anyone when that practitioner has none that day)."""
    day = localtime(appointment.starts_at).date()
    start = localtime(appointment.starts_at).time()
    lunch_start, lunch_end = availability.lunchtime()
    window = (lunch_start, lunch_end) if lunch_start <= start < lunch_end else (time(0, 0), time(23, 59))
    # A move: the appointment as saved (its time before the move), so that the slot finder
    # frees its time for the others but never offers it back as where to move it.
    stored = (
        Appointment.objects.only("pk", "starts_at", "practitioner_id").filter(pk=appointment.pk).first()
        if appointment.pk
        else None
    )
    for practitioner in (appointment.practitioner, None):
        slots = availability.find_slots(
            appointment_type=appointment.appointment_type,
            date_from=day,
            date_to=day + timedelta(days=7),
            window_start=window[0],
            window_end=window[1],
            practitioner=practitioner,
            patient=appointment.patient,
            exclude_appointment=stored,
            limit=ALTERNATIVES_LIMIT,
        )
        if slots:
            return slots
    return []


def _lock_calendars(*, practitioner: Practitioner | None = None, patient=None, room: Room | None = None) -> None:
    """Queue behind any other booking or move of the same practitioner, patient or room (see
    the module's docstring). FOR NO KEY UPDATE: it does not block rows that merely refer to
    them, nor edits of anything else."""
    for record in (practitioner, patient, room):
        if record is not None:
            type(record).objects.select_for_update(no_key=True).filter(pk=record.pk).exists()


DEADLOCK_RETRIES = 2


def _save_guarded(appointment: Appointment, **save_kwargs) -> None:
    """Save inside a savepoint; a lost race on an exclusion constraint becomes SlotTaken and
    the caller's transaction stays usable. A deadlock between two conflicting inserts that the
    locks did not order (PostgreSQL fails one of them) is tried again: by then the other has
    its row, and the constraint says who won."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            _save_in_savepoint(appointment, **save_kwargs)
            return
        except OperationalError as error:
            if getattr(error.__cause__, "pgcode", None) != errorcodes.DEADLOCK_DETECTED:
                raise
            if attempt == DEADLOCK_RETRIES:
                raise SlotTaken(
                    f"{SLOT_TAKEN} Someone else was booking the same time. Choose one of the free times below.",
                    alternatives=_alternatives(appointment),
                ) from None


def _save_in_savepoint(appointment: Appointment, **save_kwargs) -> None:
    try:
        with transaction.atomic():
            appointment.save(**save_kwargs)
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint not in OVERLAP_CONSTRAINTS:
            raise
        raise SlotTaken(
            f"{SLOT_TAKEN} {OVERLAP_CONSTRAINTS[constraint]} Choose one of the free times below.",
            alternatives=_alternatives(appointment),
            reasons=[OVERLAP_CONSTRAINTS[constraint]],
        ) from None


def _place(appointment: Appointment, *, room: Room | None, now: datetime, action: str, by, **change) -> None:
    """The placement step of a booking (``action`` BOOKED) and a move (MOVED): queue behind
    the practitioner's, patient's and room's other bookings, check the time, take ``room``
    (or, when None, a free one), refuse with every reason (SlotTaken with free alternatives
    when only other appointments stand in the way), save guarded against a lost race, and
    record the change."""
    booking = action == AppointmentChange.Action.BOOKED
    _lock_calendars(practitioner=appointment.practitioner, patient=appointment.patient, room=room)
    errors, free_room = _availability_errors(appointment, now=now, room_fixed=room is not None)
    if errors:
        _refuse(appointment, errors, booking=booking)
    if room is None:
        _lock_calendars(room=free_room)
    appointment.room = free_room
    if not booking and (appointment.starts_at, appointment.practitioner) == (
        change["old_starts_at"],
        change["old_practitioner"],
    ):
        raise ValidationError("The appointment is already at this time.")
    appointment.full_clean(validate_constraints=False)
    _save_guarded(appointment)
    _record_change(appointment, action=action, by=by, **change)


def _record_change(appointment: Appointment, *, action: str, by, **fields) -> AppointmentChange:
    return AppointmentChange.objects.create(appointment=appointment, action=action, changed_by=by, **fields)


def _user_or_none(user):
    return user if getattr(user, "is_authenticated", False) else None


# Services -------------------------------------------------------------------------------


def appointment_book(
    *,
    patient,
    practitioner: Practitioner,
    appointment_type: AppointmentType,
    starts_at: datetime,
    booked_by,
    room: Room | None = None,
    ends_at: datetime | None = None,
    notes: str = "",
    plan=None,
    plan_session_number: int | None = None,
    confirm: bool = True,
) -> Appointment:
    """Book an appointment. ``room`` None takes a free room (the practitioner's own first).
    ``confirm`` False leaves the confirmation email to the caller (a course sends one for
    all its sessions); the reminder is scheduled either way."""
    _check_bookable_time(starts_at)
    now = timezone.now()
    with transaction.atomic():
        if plan is not None:
            # A session of a course is booked only while the plan is open, read under its lock:
            # a page left open on a plan since completed or cancelled books nothing.
            plan = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
            refusal = availability.plan_booking_refusal(plan)
            if refusal:
                raise ValidationError(refusal)
        ends_at = ends_at if ends_at is not None else starts_at + appointment_type.duration
        appointment = Appointment(
            patient=patient,
            practitioner=practitioner,
            room=room,
            appointment_type=appointment_type,
            starts_at=starts_at,
            ends_at=ends_at,
            blocked_until=max(ends_at, ends_at + appointment_type.buffer),
            notes=notes,
            booked_by=_user_or_none(booked_by),
            plan=plan,
            plan_session_number=plan_session_number,
        )
        if plan is not None and plan.patient_id != patient.pk:
            raise ValidationError("This treatment plan belongs to another patient.")
        _place(
            appointment, room=room, now=now, action=AppointmentChange.Action.BOOKED, by=appointment.booked_by,
            to_status=Status.BOOKED, new_starts_at=starts_at, new_practitioner=practitioner,
        )  # fmt: skip
        if confirm:
            _schedule_confirmation(appointment, now=now)
        schedule_reminder(appointment, now=now)
        if appointment_type.name == CONSULTATION_TYPE_NAME:
            questionnaire_request(patient=patient, requested_for=appointment.subject_ref, now=now)
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient", "practitioner__user", "room", "appointment_type")
        .get(pk=appointment.pk)
    )


def appointment_move(
    *,
    appointment: Appointment,
    starts_at: datetime,
    moved_by,
    practitioner: Practitioner | None = None,
    room: Room | None = None,
) -> Appointment:
    """Move to another time (and practitioner). The room is kept when it is free, otherwise
    another free room is taken. The reminder follows; a confirmed appointment needs
    confirming again."""
    _check_bookable_time(starts_at)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(appointment)
        if not current.is_open:
            raise ValidationError(f"A {current.get_status_display().lower()} appointment cannot be moved.")
        old_start, old_practitioner, old_status = current.starts_at, current.practitioner, current.status
        old_blocked_until = current.blocked_until
        duration = current.ends_at - current.starts_at
        current.starts_at = starts_at
        current.ends_at = starts_at + duration
        current.blocked_until = current.ends_at + current.appointment_type.buffer
        current.practitioner = practitioner or current.practitioner
        if room is not None:
            current.room = room
        current.status = Status.BOOKED
        _place(
            current, room=room, now=now, action=AppointmentChange.Action.MOVED, by=_user_or_none(moved_by),
            from_status=old_status, to_status=current.status, old_starts_at=old_start, new_starts_at=current.starts_at,
            old_practitioner=old_practitioner, new_practitioner=current.practitioner,
        )  # fmt: skip
        if current.starts_at != old_start:
            schedule_reminder(current, now=now)
            _schedule_confirmation(current, now=now, moved=True)
        waitlist_offer_freed_slot(
            appointment=current, practitioner=old_practitioner, starts_at=old_start, blocked_until=old_blocked_until
        )
    return current


def appointment_cancel(
    *, appointment: Appointment, reason: str, cancelled_by, notify: bool | None = None
) -> Appointment:
    """Cancel and free the slot; the appointment's pending emails are cancelled with it.

    ``notify``: send the patient a cancellation notice. By default, when staff cancel (a
    patient who cancelled from the email link has the page that says so)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give the reason for the cancellation.")
    with transaction.atomic():
        current = _locked(appointment)
        if current.status == Status.CANCELLED:
            raise ValidationError("This appointment is already cancelled.")
        if not current.is_open:
            raise ValidationError(f"A {current.get_status_display().lower()} appointment cannot be cancelled.")
        old_status = current.status
        current.status = Status.CANCELLED
        current.cancel_reason = reason[:300]
        current.cancelled_at = timezone.now()
        current.save(update_fields=["status", "cancel_reason", "cancelled_at", "updated_at"])
        _record_change(
            current, action=AppointmentChange.Action.CANCELLED, by=_user_or_none(cancelled_by),
            from_status=old_status, to_status=current.status, reason=current.cancel_reason,
        )  # fmt: skip
        messages_cancel(subject_ref=current.subject_ref, reason="The appointment was cancelled.")
        if notify if notify is not None else _user_or_none(cancelled_by) is not None:
            _schedule_cancellation_notice(patient=current.patient, ref=current.subject_ref)
        waitlist_offer_freed_slot(
            appointment=current, practitioner=current.practitioner, starts_at=current.starts_at,
            blocked_until=current.blocked_until,
        )  # fmt: skip
    return current


PLAN_CANCELLED_REASON = "The treatment plan was cancelled."


def plan_appointments_cancel(*, plan, actor) -> list[Appointment]:
    """The plan was cancelled (treatments.hooks): its upcoming open appointments are cancelled
    with it, and the patient is told in one notice listing them all."""
    upcoming = plan.appointments.filter(status__in=Appointment.OPEN_STATUSES, starts_at__gt=timezone.now())
    by = getattr(actor, "user", None)
    cancelled = [
        appointment_cancel(appointment=appointment, reason=PLAN_CANCELLED_REASON, cancelled_by=by, notify=False)
        for appointment in upcoming.order_by("starts_at")
    ]
    if cancelled:
        _schedule_cancellation_notice(patient=plan.patient, ref=plan.subject_ref)
    return cancelled


def _change_status(appointment: Appointment, *, to: str, allowed_from: Sequence[str], by) -> Appointment:
    current = _locked(appointment)
    if current.status == to:
        raise ValidationError(f"This appointment is already {current.get_status_display().lower()}.")
    if current.status not in allowed_from:
        raise ValidationError(
            f"A {current.get_status_display().lower()} appointment cannot be marked {Status(to).label.lower()}."
        )
    old_status = current.status
    current.status = to
    current.save(update_fields=["status", "updated_at"])
    _record_change(
        current, action=AppointmentChange.Action.STATUS, by=_user_or_none(by), from_status=old_status, to_status=to
    )
    return current


def appointment_confirm(*, appointment: Appointment, confirmed_by=None) -> Appointment:
    """The patient confirmed (from the link in an email) or the desk did on the phone."""
    with transaction.atomic():
        return _change_status(appointment, to=Status.CONFIRMED, allowed_from=[Status.BOOKED], by=confirmed_by)


def appointment_check_in(*, appointment: Appointment, checked_in_by) -> Appointment:
    if localtime(appointment.starts_at).date() > timezone.localdate():
        raise ValidationError("Check-in opens on the day of the appointment.")
    with transaction.atomic():
        return _change_status(appointment, to=Status.ARRIVED, allowed_from=Appointment.OPEN_STATUSES, by=checked_in_by)


def appointment_complete(*, appointment: Appointment, completed_by) -> Appointment:
    """Done; for a session of a course, the patient hears about the next one."""
    if appointment.starts_at > timezone.now():
        raise ValidationError("An appointment cannot be completed before it starts.")
    with transaction.atomic():
        current = _change_status(
            appointment, to=Status.COMPLETED, allowed_from=[*Appointment.OPEN_STATUSES, Status.ARRIVED],
            by=completed_by,
        )  # fmt: skip
        messages_cancel(
            dedupe_keys=[reminder_key(current)], reason="The appointment took place before the reminder was due."
        )
        _schedule_next_session_reminder(current)
    return current


def appointment_mark_no_show(*, appointment: Appointment, marked_by) -> Appointment:
    if appointment.starts_at > timezone.now():
        raise ValidationError("An appointment cannot be marked as a no-show before it starts.")
    with transaction.atomic():
        current = _change_status(appointment, to=Status.NO_SHOW, allowed_from=Appointment.OPEN_STATUSES, by=marked_by)
        messages_cancel(subject_ref=current.subject_ref, reason="The patient did not come.")
        message_schedule(
            kind=Kind.NO_SHOW_FOLLOW_UP,
            patient=current.patient,
            due_at=timezone.now(),
            dedupe_key=keys.message_key(current.subject_ref, Kind.NO_SHOW_FOLLOW_UP),
            subject_ref=current.subject_ref,
            send_now=True,
        )
        # A no-show is marked once the appointment has begun, so its time is never far enough
        # ahead to offer; the waiting list's rule says so, in one place.
        waitlist_offer_freed_slot(
            appointment=current, practitioner=current.practitioner, starts_at=current.starts_at,
            blocked_until=current.blocked_until,
        )  # fmt: skip
    return current


def course_book(
    *,
    plan,
    practitioner: Practitioner,
    appointment_type: AppointmentType,
    sessions: Sequence[tuple[int, datetime, Room | None]],
    booked_by,
) -> list[Appointment]:
    """Book the sessions ``(number, start, room)`` of a plan: all of them or none, then send
    the patient one confirmation listing every session (each keeps its own reminder).

    Only a proposed or active plan's course is booked, and only sessions still to book
    (availability.sessions_to_book: not signed, not held by a live appointment). Every
    session is tried, so that the error lists every conflict, not only the first.
    """

    if not sessions:
        raise ValidationError("There is no session to book.")
    numbers = [number for number, _, _ in sessions]
    if len(set(numbers)) != len(numbers) or not all(1 <= n <= plan.session_count for n in numbers):
        raise ValidationError("The session numbers do not match the plan.")
    for _, starts_at, _ in sessions:
        _check_bookable_time(starts_at)
    booked: list[Appointment] = []
    errors: list[str] = []
    now = timezone.now()
    with transaction.atomic():
        # Queue behind a cancellation of the plan or another booking of its course.
        plan = TreatmentPlan.objects.select_for_update().select_related("patient").get(pk=plan.pk)
        refusal = availability.plan_booking_refusal(plan)
        if refusal:
            raise ValidationError(refusal)
        to_book = set(availability.sessions_to_book(plan))
        signed = availability.signed_session_numbers(plan)
        for number in sorted(set(numbers) - to_book):
            errors.append(
                Unavailable.SESSION_SIGNED.format(number=number)
                if number in signed
                else f"Session {number} is already booked."
            )
        if errors:
            raise ValidationError(errors)
        for number, starts_at, room in sorted(sessions, key=lambda item: item[1]):
            try:
                booked.append(
                    appointment_book(
                        patient=plan.patient, practitioner=practitioner, appointment_type=appointment_type,
                        starts_at=starts_at, room=room, booked_by=booked_by, plan=plan, plan_session_number=number,
                        confirm=False,
                    )
                )  # fmt: skip
            except ValidationError as error:
                when = f"{localtime(starts_at):%a %d %b %H:%M}"
                reasons = error.reasons if isinstance(error, SlotTaken) else error.messages
                errors.extend(f"Session {number} ({when}): {message}" for message in reasons)
        if errors:
            transaction.set_rollback(True)
        else:
            message_schedule(
                kind=Kind.COURSE_CONFIRMATION,
                patient=plan.patient,
                due_at=now,
                dedupe_key=course_confirmation_key(plan, booked[0]),
                subject_ref=plan.subject_ref,
                send_now=True,
            )
    if errors:
        raise ValidationError(errors)
    return booked


def practitioner_regenerate_feed_token(*, practitioner: Practitioner) -> Practitioner:
    from scheduling.models import new_feed_token

    practitioner.feed_token = new_feed_token()
    practitioner.save(update_fields=["feed_token"])
    return practitioner


# Maintenance recall: the patient books from the email ------------------------------------


class RecallAlreadyBooked(ValidationError):
    """The recall of this course is booked already (from the link, or by the desk)."""


def recall_booking_refusal(plan) -> str:
    """Why the recall link of ``plan`` cannot book (empty when it can)."""
    recall = MaintenanceRecall.objects.filter(plan=plan).first()
    if recall is not None and recall.status == MaintenanceRecall.Status.NOT_SUITABLE:
        return "Please call us to talk about your next course before booking it."
    return ""


def recall_book(
    *, plan, practitioner: Practitioner, appointment_type: AppointmentType, starts_at: datetime
) -> Appointment:
    """Book the first session of the next course for the patient of the completed ``plan``,
    from the recall email (no staff user), and mark the recall booked, in one transaction.

    The plan's row is locked first, so a double click books once (the second is told it is
    booked already); the exclusion constraints decide between two patients taking the same
    slot (the loser gets SlotTaken with fresh slots)."""
    with transaction.atomic():
        plan = TreatmentPlan.objects.select_for_update().select_related("patient").get(pk=plan.pk)
        if plan.status != TreatmentPlan.Status.COMPLETED:
            raise ValidationError("This course can no longer be booked from the email. Please call us.")
        if MaintenanceRecall.objects.filter(plan=plan, status=MaintenanceRecall.Status.BOOKED).exists():
            raise RecallAlreadyBooked("Your next session is already booked.")
        refusal = recall_booking_refusal(plan)
        if refusal:
            raise ValidationError(refusal)
        appointment = appointment_book(
            patient=plan.patient, practitioner=practitioner, appointment_type=appointment_type,
            starts_at=starts_at, booked_by=None,
            notes="Booked by the patient from the maintenance recall email: first session of the next course.",
        )  # fmt: skip
        recall_mark_booked(plan=plan, actor=Actor(user=None))
    return appointment
