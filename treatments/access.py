"""Access helpers for treatment records: every view that loads one goes through here.

Clinical records need patients.view_clinical to read and patients.record_clinical to write
(doctors). A record that does not belong to the patient in the URL is a 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from clinic.permissions import VIEW_CLINICAL
from patients.access import require_perm
from patients.models import Patient
from treatments.models import Consultation, Photo, TreatmentPlan, TreatmentSession

__all__ = [
    "get_consultation_for",
    "get_photo_for",
    "get_plan_for",
    "get_session_for",
]


def get_consultation_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> Consultation:
    require_perm(user, perm)
    return get_object_or_404(Consultation.objects.select_related("doctor"), pk=pk, patient=patient)


def get_plan_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> TreatmentPlan:
    require_perm(user, perm)
    return get_object_or_404(
        TreatmentPlan.objects.select_related("doctor", "consultation", "cancelled_by"), pk=pk, patient=patient
    )


def get_session_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> TreatmentSession:
    require_perm(user, perm)
    return get_object_or_404(TreatmentSession.objects.select_related("doctor", "plan"), pk=pk, patient=patient)


def get_photo_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> Photo:
    require_perm(user, perm)
    return get_object_or_404(Photo.objects.select_related("session"), pk=pk, patient=patient)
