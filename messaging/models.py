"""The outbox: every email to a patient is a row here before it is sent.

Rows are written in the same transaction as the change that causes them (a booking, a move,
a cancellation, a completed course); Celery only delivers them. The row's status, not the
broker, says whether a message was sent, so Redis being down or a worker dying loses nothing.

What is guaranteed: every message is sent at least once (or ends failed or cancelled, with the
reason); a second copy can only follow a worker that stopped after the mail server may have
accepted the first and before the row said so, and then it is the same email under the same
Message-ID (the patient's mail system can recognise it), and the row counts the reclaim
(``reclaims``), shown to managers as "possibly sent twice". One more way, not counted: the
PostgreSQL server itself crashing within a fraction of a second of a "sent" mark, which delivery
commits without waiting for the disk (messaging/services.py, _commits_not_waiting_for_the_disk).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Why a message is closed unsent when the patient unsubscribed (delivery and the unsubscribe
# service write it; the staff pages recognise it).
UNSUBSCRIBED = "Will not be sent: the patient unsubscribed from emails."


class ScheduledMessage(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
        APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
        AFTERCARE = "aftercare", "Aftercare advice"
        NEXT_SESSION_REMINDER = "next_session_reminder", "Next session reminder"
        COURSE_COMPLETED = "course_completed", "Course completed"
        MAINTENANCE_RECALL = "maintenance_recall", "Maintenance recall"
        NO_SHOW_FOLLOW_UP = "no_show_follow_up", "Missed appointment follow-up"
        COURSE_CONFIRMATION = "course_confirmation", "Course booking confirmation"
        APPOINTMENT_CANCELLED = "appointment_cancelled", "Cancellation notice"
        WAITLIST_OFFER = "waitlist_offer", "Waiting list offer"
        NEXT_DAY_CHECK = "next_day_check", "Next-day skin check"
        INTAKE_QUESTIONNAIRE = "intake_questionnaire", "Intake questionnaire"
        LOT_RECALL_NOTICE = "lot_recall_notice", "Batch recall notice"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="scheduled_messages")
    # What the message is about, e.g. "appointment:42" or "plan:7"; the foreign keys of the
    # apps that cause messages are added beside it.
    subject_ref = models.CharField(max_length=60, blank=True)
    dedupe_key = models.CharField(max_length=120, unique=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    # The mail server's answer to the last attempt ("250 2.0.0 Ok: queued as ..."), or its error.
    provider_response = models.CharField(max_length=500, blank=True, db_default="")
    # How often the row was taken back from a worker that stopped while sending it.
    reclaims = models.PositiveSmallIntegerField(default=0, db_default=0)
    recipient = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="message_pending_due"),
            models.Index(fields=["patient", "-due_at"], name="message_patient_due"),
            models.Index(fields=["status", "-due_at"], name="message_status_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="message_sent_has_time"
            ),
        ]
        permissions = [("retry_scheduledmessage", "Can retry a failed patient email")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.patient} ({self.get_status_display()})"

    @property
    def message_id(self) -> str:
        """The Message-ID of this email: the same on every attempt, different for every row and
        for every installation (the site's address is part of it)."""
        site = hashlib.sha256(settings.SITE_URL.encode()).hexdigest()[:12]
        return f"<outbox.{self.pk}.{site}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"

    @property
    def closed_as_unsubscribed(self) -> bool:
        """It will not be sent because the patient unsubscribed: closed as such, or still
        pending for a patient who has (delivery would close it)."""
        if self.status == self.Status.CANCELLED:
            return self.last_error == UNSUBSCRIBED
        return self.status == self.Status.PENDING and self.patient.email_unsubscribed_at is not None

    @property
    def possibly_sent_twice(self) -> bool:
        """A worker stopped while sending it and it was sent again: the mail server may have
        accepted both attempts (same Message-ID)."""
        return self.status == self.Status.SENT and self.reclaims > 0
