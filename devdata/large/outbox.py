"""Outbox rows as delivery would have left them by now."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.timezone import localtime

from clinic.localtime import clock_reaches
from devdata.large.tables import Table
from messaging import keys
from messaging.models import UNSUBSCRIBED, ScheduledMessage
from scheduling.models import Appointment
from scheduling.services import next_session_due_at
from treatments.models import TreatmentPlan, TreatmentSession
from treatments.services import AFTERCARE_AT, RECALL_AT

Kind = ScheduledMessage.Kind
MessageStatus = ScheduledMessage.Status
Status = Appointment.Status


class OutboxStep:
    """Outbox rows with the keys the services write (``message``), and the courses' rows."""

    def message_table(self) -> Table:
        return Table(
            ScheduledMessage,
            [
                "kind", "patient", "subject_ref", "dedupe_key", "due_at", "status", "attempts", "last_error",
                "enqueued_at", "claimed_at", "sent_at", "provider_message_id", "recipient", "created_at",
                "updated_at",
            ],
        )  # fmt: skip

    def message(
        self, kind: str, patient: int, subject_ref: str, dedupe_key: str, due_at: datetime, *, cancelled_at=None
    ):
        """An outbox row as the delivery would have left it by now."""
        email = self.patient_email.get(patient, "")
        if cancelled_at is not None and cancelled_at <= due_at:
            status, error, sent_at, attempts = MessageStatus.CANCELLED, "Appointment cancelled.", None, 0
        elif due_at > self.now:
            status, error, sent_at, attempts = MessageStatus.PENDING, "", None, 0
        elif not email:
            status, error, sent_at, attempts = MessageStatus.CANCELLED, "The patient has no email address.", None, 1
        elif patient in self.patient_unsubscribed:
            status, error, sent_at, attempts = MessageStatus.CANCELLED, UNSUBSCRIBED, None, 1
        elif kind == Kind.MAINTENANCE_RECALL and not self.patient_consents.get(patient):
            error = "The patient has not consented to reminder emails."
            status, sent_at, attempts = MessageStatus.CANCELLED, None, 1
        else:
            status, error, sent_at, attempts = MessageStatus.SENT, "", due_at + timedelta(seconds=20), 1
        row_id = self.messages.new_id()
        done = status != MessageStatus.PENDING
        self.messages.add_with_id(
            row_id, kind, patient, subject_ref, dedupe_key, due_at, status, attempts, error,
            due_at if done and attempts else None, due_at + timedelta(seconds=5) if done and attempts else None,
            sent_at, f"<m{row_id}.{row_id}@clinic.example>" if sent_at else "", email if sent_at else "",
            min(due_at, self.now), sent_at or cancelled_at or min(due_at, self.now),
        )  # fmt: skip

    def course_messages(self) -> None:
        """Next-session reminders, aftercare and the end of each course (as the services write them)."""
        reminder_lead = timedelta(hours=settings.APPOINTMENT_REMINDER_HOURS)
        for booked in self.plan_sessions:
            for current, following in itertools.pairwise(booked):
                if current.status != Status.COMPLETED or following.status == Status.CANCELLED:
                    continue
                due_at = next_session_due_at(Appointment(starts_at=current.starts_at))
                if following.starts_at - due_at <= reminder_lead:
                    continue
                ref = keys.subject_ref(Appointment.SUBJECT, following.id)
                key = keys.message_key(ref, Kind.NEXT_SESSION_REMINDER)
                self.message(Kind.NEXT_SESSION_REMINDER, following.patient, ref, key, due_at)
        for session_id, patient, signed in self.aftercare:
            due_at = max(clock_reaches(localtime(signed).date(), AFTERCARE_AT), signed)
            ref = keys.subject_ref(TreatmentSession.SUBJECT, session_id)
            self.message(Kind.AFTERCARE, patient, ref, keys.message_key(ref, Kind.AFTERCARE), due_at)
        for plan_id, patient, completed_at, due_on in self.course_done:
            ref = keys.subject_ref(TreatmentPlan.SUBJECT, plan_id)
            self.message(
                Kind.COURSE_COMPLETED, patient, ref, keys.message_key(ref, Kind.COURSE_COMPLETED), completed_at
            )
            self.message(
                Kind.MAINTENANCE_RECALL, patient, ref, keys.message_key(ref, Kind.MAINTENANCE_RECALL),
                clock_reaches(due_on, RECALL_AT),
            )  # fmt: skip
