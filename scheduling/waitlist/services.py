"""Writes of the waiting list.

A freed slot (a cancellation, a move, a no-show) is offered inside the transaction that freed
it: offer rows and their outbox rows are written there, the first wave due now (pg_notify, no
broker call), the later waves due one delay apart. Nothing is decided for good when the offer
is written: the email's builder (emails.py) checks again when each wave goes out, and the
claim books through ``appointment_book``, whose locks and exclusion constraints let exactly
one patient have the slot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.timezone import localtime

from messaging import keys
from messaging.models import ScheduledMessage
from messaging.services import message_schedule, messages_cancel
from scheduling.models import (
    LONGEST_APPOINTMENT,
    Appointment,
    AppointmentType,
    Practitioner,
    WaitlistEntry,
    WaitlistOffer,
)

logger = logging.getLogger(__name__)

Kind = ScheduledMessage.Kind
Status = WaitlistEntry.Status


def min_notice() -> timedelta:
    """How far ahead a freed slot must start to be offered ("far enough ahead")."""
    return timedelta(minutes=settings.WAITLIST_MIN_NOTICE_MINUTES)


def min_notice_text() -> str:
    minutes = settings.WAITLIST_MIN_NOTICE_MINUTES
    if minutes % 60 == 0:
        return f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    return f"{minutes} minutes"


def claim_cutoff() -> timedelta:
    return timedelta(minutes=settings.WAITLIST_CLAIM_CUTOFF_MINUTES)


def offer_key(offer: WaitlistOffer) -> str:
    return keys.message_key(offer.subject_ref, Kind.WAITLIST_OFFER)


# Adding and removing ---------------------------------------------------------------------


def waitlist_add(
    *,
    patient,
    appointment_type: AppointmentType,
    date_from: date,
    date_to: date,
    window_start: time,
    window_end: time,
    added_by,
    practitioner: Practitioner | None = None,
    weekdays: Iterable[int] = (),
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waiting list. Offers go by email: a patient without an email
    address, or unsubscribed, could never hear of one."""
    errors = []
    if not patient.email:
        errors.append("This patient has no email address: waiting list offers are sent by email.")
    elif patient.email_unsubscribed_at is not None:
        errors.append("This patient unsubscribed from emails, so they would never hear of an offer.")
    if patient.archived_at is not None:
        errors.append("This patient's record is archived.")
    if date_to < timezone.localdate():
        errors.append("The last day is in the past.")
    if errors:
        raise ValidationError(errors)
    entry = WaitlistEntry(
        patient=patient, appointment_type=appointment_type, practitioner=practitioner, date_from=date_from,
        date_to=date_to, window_start=window_start, window_end=window_end, weekdays=sorted(set(weekdays)),
        notes=notes.strip(), added_by=added_by if getattr(added_by, "is_authenticated", False) else None,
    )  # fmt: skip
    entry.full_clean()
    entry.save()
    return entry


def waitlist_remove(*, entry: WaitlistEntry, removed_by) -> WaitlistEntry:
    """Take a patient off the list; offers already sent no longer book anything."""
    with transaction.atomic():
        current = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if not current.is_waiting:
            raise ValidationError(f"This entry is already closed ({current.get_status_display().lower()}).")
        current.status = Status.REMOVED
        current.closed_at = timezone.now()
        current.closed_by = removed_by if getattr(removed_by, "is_authenticated", False) else None
        current.save(update_fields=["status", "closed_at", "closed_by"])
        _cancel_offer_messages(current.offers.all(), reason="The patient was taken off the waiting list.")
    return current


# Offering a freed slot -------------------------------------------------------------------


@dataclass(frozen=True)
class FreedSlot:
    """The time an appointment held until it was cancelled, moved or missed."""

    appointment: Appointment
    practitioner: Practitioner
    starts_at: datetime
    blocked_until: datetime

    @property
    def minutes(self) -> int:
        return int((self.blocked_until - self.starts_at).total_seconds() // 60)


def practitioner_is_free(practitioner_id: int, starts_at: datetime, blocked_until: datetime) -> bool:
    busy = Appointment.objects.live().filter(practitioner_id=practitioner_id)
    return not busy.overlapping(starts_at, blocked_until).exists()


def _fits_window(entry: WaitlistEntry, starts_at: datetime) -> bool:
    local_start = localtime(starts_at)
    local_end = localtime(starts_at + entry.appointment_type.duration)
    return (
        local_end.date() == local_start.date()
        and entry.window_start <= local_start.time()
        and local_end.time() <= entry.window_end
    )


def booked_meanwhile(entry: WaitlistEntry, appointments: Iterable[Appointment]) -> bool:
    """The patient got what they were waiting for another way: a live appointment of the
    entry's type, booked since they joined the list, on a day of its range."""
    return any(
        appointment.patient_id == entry.patient_id
        and appointment.appointment_type_id == entry.appointment_type_id
        and appointment.created_at >= entry.created_at
        and entry.date_from <= localtime(appointment.starts_at).date() <= entry.date_to
        for appointment in appointments
    )


def has_clash(patient_id: int, starts_at: datetime, ends_at: datetime, appointments: Iterable[Appointment]) -> bool:
    return any(
        appointment.patient_id == patient_id and appointment.starts_at < ends_at and starts_at < appointment.ends_at
        for appointment in appointments
    )


def patients_appointments(patient_ids: Iterable[int], *, around: datetime) -> list[Appointment]:
    """The live appointments that can stop an offer to these patients: any overlapping the
    day of ``around`` (clashes) and any booked in the future (booked meanwhile)."""
    return list(
        Appointment.objects.live()
        .filter(patient_id__in=list(patient_ids))
        .filter(starts_at__gte=min(timezone.now(), around - LONGEST_APPOINTMENT))
        .only("patient_id", "appointment_type_id", "starts_at", "ends_at", "created_at")
    )


def _candidates(slot: FreedSlot) -> list[WaitlistEntry]:
    local = localtime(slot.starts_at)
    return list(
        WaitlistEntry.objects.waiting()
        .filter(Q(practitioner__isnull=True) | Q(practitioner=slot.practitioner))
        .filter(date_from__lte=local.date(), date_to__gte=local.date(), window_start__lte=local.time())
        .filter(Q(weekdays=[]) | Q(weekdays__contains=[local.weekday()]))
        .filter(patient__archived_at__isnull=True, patient__email_unsubscribed_at__isnull=True)
        .exclude(patient__email="")
        .exclude(patient_id=slot.appointment.patient_id)
        .alias(needs=F("appointment_type__duration_minutes") + F("appointment_type__buffer_minutes"))
        .filter(needs__lte=slot.minutes, appointment_type__is_active=True)
        .select_related("patient", "appointment_type")
        .order_by("created_at", "id")
    )


def waitlist_offer_freed_slot(
    *, appointment: Appointment, practitioner: Practitioner, starts_at: datetime, blocked_until: datetime
) -> list[WaitlistOffer]:
    """Offer a freed slot to the patients waiting for one like it, longest waiting first.

    Called inside the transaction that freed the slot, and never its undoing: whatever goes
    wrong here is logged and the cancellation or move goes on without offers.
    """
    slot = FreedSlot(
        appointment=appointment, practitioner=practitioner, starts_at=starts_at, blocked_until=blocked_until
    )
    if slot.starts_at - timezone.now() < min_notice():
        return []  # too close (or past: a no-show) for anyone to take it
    try:
        with transaction.atomic():
            return _offer(slot)
    except Exception:  # the freeing request must go through; the slot is simply not offered
        logger.exception("Could not offer the slot freed by appointment %s to the waiting list.", appointment.pk)
        return []


def _offer(slot: FreedSlot) -> list[WaitlistOffer]:
    if not practitioner_is_free(slot.practitioner.pk, slot.starts_at, slot.blocked_until):
        return []  # a move within the same time, or already booked again: nothing is free
    entries = _candidates(slot)
    if not entries:
        return []
    patient_ids = {entry.patient_id for entry in entries}
    already = set(
        WaitlistOffer.objects.filter(
            practitioner=slot.practitioner, starts_at=slot.starts_at, patient_id__in=patient_ids
        ).values_list("patient_id", flat=True)
    )
    appointments = patients_appointments(patient_ids, around=slot.starts_at)
    now = timezone.now()
    wave_size, delay = settings.WAITLIST_OFFER_WAVE_SIZE, timedelta(minutes=settings.WAITLIST_OFFER_WAVE_DELAY_MINUTES)
    last_due = slot.starts_at - min_notice()
    offers: list[WaitlistOffer] = []
    for entry in entries:
        if len(offers) >= wave_size * settings.WAITLIST_OFFER_WAVES:
            break
        ends_at = slot.starts_at + entry.appointment_type.duration
        if (
            entry.patient_id in already
            or not _fits_window(entry, slot.starts_at)
            or has_clash(entry.patient_id, slot.starts_at, ends_at, appointments)
            or booked_meanwhile(entry, appointments)
        ):
            continue
        wave = len(offers) // wave_size
        due_at = now + wave * delay
        if due_at > last_due:
            break  # later waves would reach patients too late to come
        offer = WaitlistOffer.objects.create(
            entry=entry, patient_id=entry.patient_id, practitioner=slot.practitioner,
            appointment_type=entry.appointment_type, starts_at=slot.starts_at, ends_at=ends_at,
            freed_by=slot.appointment, wave=wave + 1, created_at=now, expires_at=slot.starts_at - claim_cutoff(),
        )  # fmt: skip
        offer.message = message_schedule(
            kind=Kind.WAITLIST_OFFER, patient=entry.patient, due_at=due_at, dedupe_key=offer_key(offer),
            subject_ref=offer.subject_ref, send_now=wave == 0,
        )  # fmt: skip
        offer.save(update_fields=["message"])
        already.add(entry.patient_id)
        offers.append(offer)
    return offers


# Claiming --------------------------------------------------------------------------------


class OfferUnavailable(ValidationError):
    """The offer cannot be taken; ``reason`` says which page the patient sees: "taken" (someone
    else was first), "expired", "closed" (no longer on the list) or "unbookable"."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


def slot_is_taken(offer: WaitlistOffer) -> bool:
    return not practitioner_is_free(
        offer.practitioner_id, offer.starts_at, offer.starts_at + offer.appointment_type.duration
    )


def waitlist_claim(*, offer: WaitlistOffer) -> Appointment:
    """The patient takes the offered slot: booked through ``appointment_book`` (its checks, its
    locks, the exclusion constraints, the usual confirmation email); the entry closes and the
    slot's other pending offers are withdrawn. Whoever comes second gets OfferUnavailable
    ("taken") and stays on the list."""
    from scheduling.services import appointment_book

    with transaction.atomic():
        current = (
            WaitlistOffer.objects.select_for_update(of=("self",))
            .select_related("patient", "practitioner__user", "appointment_type", "appointment")
            .get(pk=offer.pk)
        )
        entry = WaitlistEntry.objects.select_for_update().get(pk=current.entry_id)
        if current.is_claimed:
            return current.appointment
        if not entry.is_waiting:
            raise OfferUnavailable("You are no longer on our waiting list for this.", reason="closed")
        if timezone.now() >= current.expires_at:
            raise OfferUnavailable("This offer has expired.", reason="expired")
        try:
            appointment = appointment_book(
                patient=current.patient, practitioner=current.practitioner, appointment_type=current.appointment_type,
                starts_at=current.starts_at, booked_by=None, notes="Booked by the patient from a waiting list offer.",
            )  # fmt: skip
        except ValidationError as error:
            # Losing the race, the booking waited for the winner's commit: its row is seen here.
            reason = "taken" if slot_is_taken(current) else "unbookable"
            raise OfferUnavailable(" ".join(error.messages), reason=reason) from error
        now = timezone.now()
        current.claimed_at = now
        current.appointment = appointment
        current.save(update_fields=["claimed_at", "appointment"])
        entry.status = Status.BOOKED
        entry.appointment = appointment
        entry.closed_at = now
        entry.save(update_fields=["status", "appointment", "closed_at"])
        _cancel_offer_messages(
            WaitlistOffer.objects.filter(practitioner_id=current.practitioner_id, starts_at=current.starts_at),
            reason="Another patient took the slot.",
        )
        _cancel_offer_messages(entry.offers.all(), reason="The patient took another offered slot.")
    return appointment


def _cancel_offer_messages(offers, *, reason: str) -> int:
    return messages_cancel(dedupe_keys=[offer_key(offer) for offer in offers.only("pk")], reason=reason)
