from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from clinic.localtime import day_bounds
from clinic.models import AuditEntry


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
        entries = entries.filter(at__gte=day_bounds(date_from)[0])
    if date_to:
        entries = entries.filter(at__lt=day_bounds(date_to)[1])
    return entries.order_by("-at", "-id")
