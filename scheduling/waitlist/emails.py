"""The waiting list offer email (registered with the outbox from SchedulingConfig.ready).

The builder runs when a wave goes out, not when the slot was freed: it sends only while the
offer still makes sense (slot still free, patient still waiting and free then, not booked
meanwhile, early enough), and otherwise cancels the row with the reason.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.timezone import localtime

from messaging import keys
from messaging.emails import EmailContent, register_builder
from messaging.links import absolute_url, make_token
from messaging.models import ScheduledMessage
from scheduling.models import WaitlistOffer
from scheduling.waitlist.services import (
    booked_meanwhile,
    has_clash,
    min_notice,
    patients_appointments,
    slot_is_taken,
)

CLAIM_ACTION = "waitlist_claim"


def claim_url(offer: WaitlistOffer) -> str:
    return absolute_url(reverse("scheduling:waitlist_claim", args=[make_token(CLAIM_ACTION, offer.pk)]))


def offer_context(offer: WaitlistOffer) -> dict:
    start = localtime(offer.starts_at)
    return {
        "start": start,
        "time_zone_name": start.tzname(),
        "expires": localtime(offer.expires_at),
        "type_name": offer.appointment_type.name,
        "duration_minutes": offer.appointment_type.duration_minutes,
        "practitioner_name": offer.practitioner.name,
        "claim_url": claim_url(offer),
    }


def offer_skip_reason(offer: WaitlistOffer | None) -> str:
    """Why this offer should not be sent now, or ""."""
    if offer is None:
        return "The offer no longer exists."
    if not offer.entry.is_waiting:
        return f"The waiting list entry is closed ({offer.entry.get_status_display().lower()})."
    if offer.starts_at - timezone.now() < min_notice():
        return "The slot starts too soon to be offered."
    if slot_is_taken(offer):
        return "The slot was taken."
    appointments = patients_appointments([offer.patient_id], around=offer.starts_at)
    if has_clash(offer.patient_id, offer.starts_at, offer.ends_at, appointments):
        return "The patient has another appointment at this time."
    if booked_meanwhile(offer.entry, appointments):
        return "The patient was booked meanwhile."
    return ""


@register_builder(ScheduledMessage.Kind.WAITLIST_OFFER)
def waitlist_offer(message: ScheduledMessage) -> EmailContent:
    offer_id = keys.ref_id(message.subject_ref, WaitlistOffer.SUBJECT)
    offer = (
        WaitlistOffer.objects.select_related("entry", "practitioner__user", "appointment_type")
        .filter(pk=offer_id)
        .first()
    )
    skip = offer_skip_reason(offer)
    if skip:
        return EmailContent(skip=skip)
    return EmailContent(context={"offer": offer_context(offer)})
