"""Appointments of an erased patient (patients/erasure.py): kept for the calendar's history,
moved to the placeholder record that stands for the erased patient. Future ones are cancelled
(the slot is free again); booking notes may name the patient, so they are blanked."""

from __future__ import annotations

from django.utils import timezone

from patients.erasure import PatientData, register_patient_data
from scheduling.models import Appointment, AppointmentChange, WaitlistEntry, WaitlistOffer

ERASED_REASON = "The patient's record was erased."


def erase(patient, placeholder) -> None:
    now = timezone.now()
    # The waiting list is about the future only: an erased patient leaves it, offers and all.
    WaitlistOffer.objects.filter(patient=patient).delete()
    WaitlistEntry.objects.filter(patient=patient).delete()
    upcoming = Appointment.objects.filter(patient=patient, status__in=Appointment.OPEN_STATUSES, starts_at__gte=now)
    AppointmentChange.objects.bulk_create(
        AppointmentChange(
            appointment_id=appointment_id,
            action=AppointmentChange.Action.CANCELLED,
            changed_at=now,
            from_status=status,
            to_status=Appointment.Status.CANCELLED,
            reason=ERASED_REASON,
        )
        for appointment_id, status in upcoming.values_list("pk", "status")
    )
    upcoming.update(status=Appointment.Status.CANCELLED, cancel_reason=ERASED_REASON, cancelled_at=now)
    # The placeholder is this patient's alone, so the no-overlap constraints hold as before.
    Appointment.objects.filter(patient=patient).update(
        patient=placeholder, notes="", plan=None, plan_session_number=None, updated_at=now
    )


register_patient_data(PatientData(name="scheduling", erase=erase))
