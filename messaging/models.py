"""The outbox: every email to a patient is a row here before it is sent.

Rows are written in the same transaction as the change that causes them (a booking, a move,
a cancellation, a completed course); Celery only delivers them. The row's status, not the
broker, says whether a message was sent, so Redis being down or a worker dying loses nothing
and sends nothing twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ScheduledMessage(models.Model):
    class Kind(models.TextChoices):
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
        APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
        AFTERCARE = "aftercare", "Aftercare advice"
        NEXT_SESSION_REMINDER = "next_session_reminder", "Next session reminder"
        COURSE_COMPLETED = "course_completed", "Course completed"
        MAINTENANCE_RECALL = "maintenance_recall", "Maintenance recall"
        NO_SHOW_FOLLOW_UP = "no_show_follow_up", "Missed appointment follow-up"

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
