"""Reads of the waiting list: the front desk's page and the refills figure of the reports."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from clinic.localtime import day_bounds
from scheduling.models import WaitlistEntry, WaitlistOffer

RECENT_OFFER_DAYS = 14


def waiting_entries() -> QuerySet[WaitlistEntry]:
    """Who is waiting, longest first; entries whose last day has passed are left out."""
    return (
        WaitlistEntry.objects.waiting()
        .filter(date_to__gte=timezone.localdate())
        .select_related("patient", "appointment_type", "practitioner__user", "added_by")
        .order_by("created_at", "id")
    )


def recent_offers(*, days: int = RECENT_OFFER_DAYS) -> QuerySet[WaitlistOffer]:
    """The offers written in the last ``days`` days, newest slot first, with their email's state
    and whether (and by whom) they were claimed."""
    since = timezone.now() - timedelta(days=days)
    return (
        WaitlistOffer.objects.filter(created_at__gte=since)
        .select_related("patient", "practitioner__user", "appointment_type", "message", "entry")
        .order_by("-starts_at", "practitioner_id", "wave", "id")
    )


def waitlist_refills(*, date_from: date, date_to: date) -> int:
    """Waitlist refills: freed slots booked again from a waiting list offer, claimed between
    ``date_from`` and ``date_to`` (local days, both included). The reports page's figure."""
    start, _ = day_bounds(date_from)
    _, end = day_bounds(date_to)
    return WaitlistOffer.objects.filter(claimed_at__gte=start, claimed_at__lt=end).count()
