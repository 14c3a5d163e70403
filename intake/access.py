"""Access helpers for the doctor's side of the questionnaire (the patient's side is the
signed link)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from clinic.permissions import VIEW_CLINICAL
from intake.models import IntakeAnswer, IntakeQuestionnaire
from patients.access import require_record_perm
from patients.models import Patient


def get_questionnaire_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> IntakeQuestionnaire:
    require_record_perm(user, perm, object_type="intake questionnaire", object_id=pk, patient_id=patient.pk)
    return get_object_or_404(IntakeQuestionnaire, pk=pk, patient=patient, submitted_at__isnull=False)


def get_answer_for(user, patient: Patient, pk: int, *, perm: str) -> IntakeAnswer:
    require_record_perm(user, perm, object_type="intake answer", object_id=pk, patient_id=patient.pk)
    return get_object_or_404(
        IntakeAnswer.objects.select_related("questionnaire"), pk=pk, questionnaire__patient=patient
    )
