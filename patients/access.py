"""Access helpers: every view that loads a patient or a clinical record goes through one.

They answer 404 for what does not exist and PermissionDenied (403) for what the user's
role may not see; refusing a record the user asked for raises AccessRefused, which the audit
trail records. Login is checked before, by @login_required on the view.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from clinic.audit import CONTACT_DETAILS, AccessRefused
from clinic.permissions import DELETE_PATIENT, IMPORT_PATIENTS, RECORD_CLINICAL, VIEW_CLINICAL, VIEW_PATIENT
from clinic.rows import MAX_ID, one_or_404
from patients.models import ConsentRecord, ErasureRequest, HistoryItem, Patient, PatientImport


def require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def require_record_perm(user, perm: str, *, object_type: str, object_id: int, patient_id: int | None) -> None:
    """Like require_perm, for a record the user asked for: the refusal is audited. A patient
    id no row can have (the URL's number is past a bigint) is recorded as no patient."""
    if not user.has_perm(perm):
        if patient_id is not None and not 0 < patient_id <= MAX_ID:
            patient_id = None
        raise AccessRefused(object_type=object_type, object_id=object_id, patient_id=patient_id)


def get_patient_for(user, pk: int, *, perm: str = VIEW_PATIENT) -> Patient:
    """The patient ``pk`` if ``user`` holds ``perm``; clinical views pass VIEW_CLINICAL or
    RECORD_CLINICAL."""
    asked = "clinical record" if perm in {VIEW_CLINICAL, RECORD_CLINICAL} else CONTACT_DETAILS
    require_record_perm(user, perm, object_type=asked, object_id=pk, patient_id=pk)
    return patient_or_404(pk)


def patient_or_404(pk: int) -> Patient:
    """The patient ``pk``, as ``get_object_or_404(Patient, pk=pk)`` gives it (every patient page
    reads its patient: a statement written once spares each of them building the query)."""
    return one_or_404(Patient, pk)


def get_history_item_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> HistoryItem:
    require_record_perm(user, perm, object_type="medical history entry", object_id=pk, patient_id=patient.pk)
    return get_object_or_404(HistoryItem.objects.select_related("recorded_by"), pk=pk, patient=patient)


def get_consent_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> ConsentRecord:
    require_record_perm(user, perm, object_type="consent record", object_id=pk, patient_id=patient.pk)
    return get_object_or_404(ConsentRecord.objects.select_related("document"), pk=pk, patient=patient)


def get_erasure_request_for(user, pk: int, *, perm: str = DELETE_PATIENT) -> ErasureRequest:
    require_perm(user, perm)
    return get_object_or_404(ErasureRequest.objects.select_related("patient"), pk=pk)


def get_patient_import_for(user, pk: int, *, perm: str = IMPORT_PATIENTS) -> PatientImport:
    require_perm(user, perm)
    return get_object_or_404(PatientImport, pk=pk)
