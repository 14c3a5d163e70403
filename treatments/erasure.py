"""Treatment records are clinical records (patients/erasure.py): they set the retention date
and are deleted only by a purge a manager confirmed once that date has passed."""

from __future__ import annotations

from django.db import transaction

from patients.erasure import PatientData, latest_per_patient, register_patient_data
from treatments.models import (
    Consultation,
    ConsultationAddendum,
    Photo,
    SafetyOverride,
    SessionAddendum,
    TreatmentPlan,
    TreatmentSession,
)


def last_clinical_record(patient_ids):
    latest = {}
    for queryset, field in (
        (Consultation.objects.all(), "consulted_on"),
        (TreatmentPlan.objects.all(), "updated_at"),
        (TreatmentSession.objects.all(), "performed_at"),
        (Photo.objects.all(), "uploaded_at"),
        (SafetyOverride.objects.all(), "overridden_at"),
    ):
        for patient_id, day in latest_per_patient(queryset, field, patient_ids).items():
            latest[patient_id] = max(day, latest.get(patient_id, day))
    return latest


def erase(patient, placeholder) -> None:
    from treatments.photos import photo_path

    photos = list(Photo.objects.filter(patient=patient))
    files = [photo_path(photo) for photo in photos]
    Photo.objects.filter(pk__in=[photo.pk for photo in photos]).delete()
    SafetyOverride.objects.filter(patient=patient).delete()
    SessionAddendum.objects.filter(session__patient=patient).delete()
    TreatmentSession.objects.filter(patient=patient).delete()
    TreatmentPlan.objects.filter(patient=patient).delete()
    ConsultationAddendum.objects.filter(consultation__patient=patient).delete()
    Consultation.objects.filter(patient=patient).delete()

    def remove_files() -> None:
        for path in files:
            path.unlink(missing_ok=True)

    # The files go only once the rows are gone for good.
    transaction.on_commit(remove_files)


register_patient_data(PatientData(name="treatments", last_clinical_record=last_clinical_record, erase=erase))
