"""Questionnaires of an erased or purged patient (patients/erasure.py): a submitted one is a
clinical record (what the patient reported), a draft is not; both go with the patient."""

from __future__ import annotations

from intake.models import IntakeQuestionnaire
from patients.erasure import PatientData, latest_per_patient, register_patient_data


def _last_clinical_record(patient_ids):
    return latest_per_patient(
        IntakeQuestionnaire.objects.filter(submitted_at__isnull=False), "submitted_at", patient_ids
    )


def _erase(patient, placeholder) -> None:
    IntakeQuestionnaire.objects.filter(patient=patient).delete()  # its answers go with it


register_patient_data(PatientData(name="intake", last_clinical_record=_last_clinical_record, erase=_erase))
