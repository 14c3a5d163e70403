"""Access helpers: every view that loads a patient or a clinical record goes through one.

They answer 404 for what does not exist and PermissionDenied (403) for what the user's
role may not see. Login is checked before, by @login_required on the view.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from clinic.permissions import DELETE_PATIENT, IMPORT_PATIENTS, VIEW_CLINICAL, VIEW_PATIENT
from patients.models import ConsentRecord, ErasureRequest, HistoryItem, Patient, PatientImport


def require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def get_patient_for(user, pk: int, *, perm: str = VIEW_PATIENT) -> Patient:
    """The patient ``pk`` if ``user`` holds ``perm``; clinical views pass VIEW_CLINICAL or
    RECORD_CLINICAL."""
    require_perm(user, perm)
    return get_object_or_404(Patient, pk=pk)


def get_history_item_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> HistoryItem:
    require_perm(user, perm)
    return get_object_or_404(HistoryItem.objects.select_related("recorded_by"), pk=pk, patient=patient)


def get_consent_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> ConsentRecord:
    require_perm(user, perm)
    return get_object_or_404(ConsentRecord.objects.select_related("document"), pk=pk, patient=patient)


def get_erasure_request_for(user, pk: int, *, perm: str = DELETE_PATIENT) -> ErasureRequest:
    require_perm(user, perm)
    return get_object_or_404(ErasureRequest.objects.select_related("patient"), pk=pk)


def get_patient_import_for(user, pk: int, *, perm: str = IMPORT_PATIENTS) -> PatientImport:
    require_perm(user, perm)
    return get_object_or_404(PatientImport, pk=pk)
