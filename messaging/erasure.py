"""The outbox's part in erasing a patient (patients/erasure.py): emails are contact data."""

from __future__ import annotations

from django.utils import timezone

from messaging.models import ScheduledMessage
from patients.erasure import PatientData, register_patient_data

ERASED_REASON = "The patient's contact data was erased."


def erase_contact(patient) -> None:
    """Cancel what was not sent yet and forget the address the sent ones went to."""
    rows = ScheduledMessage.objects.filter(patient=patient)
    rows.filter(status=ScheduledMessage.Status.PENDING).update(
        status=ScheduledMessage.Status.CANCELLED, last_error=ERASED_REASON, updated_at=timezone.now()
    )
    rows.exclude(recipient="").update(recipient="", updated_at=timezone.now())


def erase(patient, placeholder) -> None:
    ScheduledMessage.objects.filter(patient=patient).delete()


register_patient_data(PatientData(name="messaging", erase_contact=erase_contact, erase=erase))
