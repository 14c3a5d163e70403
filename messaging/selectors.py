from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, QuerySet

from clinic.localtime import day_bounds
from clinic.prepared import PreparedStatement
from messaging.models import UNSUBSCRIBED, ScheduledMessage


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


@dataclass(frozen=True)
class PatientMessage:
    """An outbox email as the patient's page lists it."""

    kind: str
    due_at: datetime
    status: str
    sent_at: datetime | None
    reclaims: int
    closed_as_unsubscribed: bool  # as ScheduledMessage.closed_as_unsubscribed


_PATIENT_MESSAGES = PreparedStatement(
    "patient_messages",
    "SELECT kind, due_at, status, sent_at, reclaims, last_error FROM messaging_scheduledmessage"
    " WHERE patient_id = %s ORDER BY due_at DESC, id DESC LIMIT %s",
)


def messages_for_patient(patient, *, limit: int) -> list[PatientMessage]:
    """The patient's newest ``limit`` outbox emails, in one written-out statement."""
    with connection.cursor() as cursor:
        _PATIENT_MESSAGES.execute(cursor, [patient.pk, limit])
        rows = cursor.fetchall()
    unsubscribed = patient.email_unsubscribed_at is not None
    Status = ScheduledMessage.Status
    return [
        PatientMessage(
            kind,
            due_at,
            status,
            sent_at,
            reclaims,
            last_error == UNSUBSCRIBED if status == Status.CANCELLED else status == Status.PENDING and unsubscribed,
        )
        for kind, due_at, status, sent_at, reclaims, last_error in rows
    ]
