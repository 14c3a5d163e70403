"""What the database holds: data the generator made, or someone else's, and emptying its own."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection

from devdata.large.sizes import MARKER_USERNAME, ROOM_PREFIX, USERNAME_PREFIX
from messaging.models import ScheduledMessage
from patients.models import ConsentRecord, HistoryItem, Patient, SkinProfile
from scheduling.models import Appointment, AppointmentChange, ClinicClosure, Practitioner, Room, TimeOff, WorkingHours
from treatments.models import BatchUsage, Consultation, PlanProduct, TreatmentPlan, TreatmentSession

# Tables emptied when the generator replaces its own earlier clinic (the migrations' reference
# data - groups, permissions, appointment types, consent texts, formulary - is kept).
GENERATED_MODELS = [
    ScheduledMessage, AppointmentChange, Appointment, BatchUsage, TreatmentSession, PlanProduct, TreatmentPlan,
    Consultation, TimeOff, ClinicClosure, WorkingHours, Practitioner, Room, ConsentRecord, SkinProfile,
    HistoryItem, Patient,
]  # fmt: skip


def foreign_data() -> list[str]:
    """What the database holds that seed_large did not generate, e.g. ["3 staff accounts"]."""
    User = get_user_model()
    found = []
    counts = [
        ("staff accounts", User.objects.exclude(username__startswith=USERNAME_PREFIX).count()),
        ("patients", Patient.objects.exclude(created_by__username=MARKER_USERNAME).count()),
        ("rooms", Room.objects.exclude(name__startswith=ROOM_PREFIX).count()),
    ]
    for label, count in counts:
        if count:
            found.append(f"{count} {label}")
    return found


def has_generated_data() -> bool:
    return get_user_model().objects.filter(username__startswith=USERNAME_PREFIX).exists()


def wipe_generated() -> None:
    """Empty the tables of an earlier generated clinic. Only called when the database holds
    nothing else (checked by the caller)."""
    User = get_user_model()
    tables = [model._meta.db_table for model in GENERATED_MODELS]
    tables += ["clinic_auditentry", "django_session", User._meta.db_table]
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction would block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
