from __future__ import annotations

from datetime import date

from django.db.models import Count, QuerySet

from clinic.localtime import day_bounds
from messaging.models import ScheduledMessage


def communications(*, day: date | None = None, kind: str = "", status: str = "") -> QuerySet[ScheduledMessage]:
    messages = ScheduledMessage.objects.select_related("patient")
    if day is not None:
        start, end = day_bounds(day)
        messages = messages.filter(due_at__gte=start, due_at__lt=end)
    if kind:
        messages = messages.filter(kind=kind)
    if status:
        messages = messages.filter(status=status)
    return messages.order_by("-due_at", "-id")


def status_counts() -> dict[str, int]:
    rows = ScheduledMessage.objects.values("status").annotate(total=Count("id"))
    return {row["status"]: row["total"] for row in rows}


def messages_for_patient(patient) -> QuerySet[ScheduledMessage]:
    return patient.scheduled_messages.order_by("-due_at", "-id")
