from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import QuerySet

from clinic.models import AuditEntry


def local_day_start(day: date) -> datetime:
    """Midnight of ``day`` in the clinic's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(settings.CLINIC_TIME_ZONE))


def audit_entries(
    *, patient_id: int | None = None, user=None, action: str = "", outcome: str = "", date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEntry]:  # fmt: skip
    entries = AuditEntry.objects.select_related("user", "patient")
    if patient_id:
        entries = entries.filter(patient_id=patient_id)
    if user is not None:
        entries = entries.filter(user=user)
    if action:
        entries = entries.filter(action=action)
    if outcome:
        entries = entries.filter(outcome=outcome)
    if date_from:
        entries = entries.filter(at__gte=local_day_start(date_from))
    if date_to:
        entries = entries.filter(at__lt=local_day_start(date_to + timedelta(days=1)))
    return entries.order_by("-at", "-id")
