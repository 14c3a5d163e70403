"""Access helpers for treatment records: every view that loads one goes through here.

Clinical records need patients.view_clinical to read and patients.record_clinical to write
(doctors). A record that does not belong to the patient in the URL is a 404.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404

from clinic.permissions import VIEW_CLINICAL
from patients.access import require_perm, require_record_perm
from patients.models import Patient
from treatments.models import Batch, Consultation, Photo, SafetyOverride, TreatmentPlan, TreatmentSession

__all__ = [
    "get_batch_for",
    "get_consultation_for",
    "get_photo_for",
    "get_plan_for",
    "get_plan_with_patient_for",
    "get_session_for",
]


def _require(user, perm: str, model, patient: Patient, pk: int) -> None:
    require_record_perm(user, perm, object_type=str(model._meta.verbose_name), object_id=pk, patient_id=patient.pk)


def get_consultation_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> Consultation:
    _require(user, perm, Consultation, patient, pk)
    return get_object_or_404(Consultation.objects.select_related("doctor"), pk=pk, patient=patient)


def get_plan_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> TreatmentPlan:
    _require(user, perm, TreatmentPlan, patient, pk)
    return get_object_or_404(
        TreatmentPlan.objects.select_related("doctor", "consultation", "cancelled_by"), pk=pk, patient=patient
    )


def get_plan_with_patient_for(user, patient_pk: int, pk: int, *, perm: str = VIEW_CLINICAL) -> TreatmentPlan:
    """The plan ``pk`` of patient ``patient_pk`` with its patient (``plan.patient``) and whether
    it has safety overrides (``plan.has_overrides``), in one query. The refusal is
    get_patient_for's (the plan's own check asks the same clinical permission, so it never
    refuses after it); a 404 whether the patient or the plan is missing."""
    require_record_perm(user, perm, object_type="clinical record", object_id=patient_pk, patient_id=patient_pk)
    return get_object_or_404(
        TreatmentPlan.objects.select_related("patient", "doctor", "consultation", "cancelled_by").annotate(
            # Most plans have no safety override: the page asks for them only when one exists.
            has_overrides=Exists(SafetyOverride.objects.filter(plan=OuterRef("pk")))
        ),
        pk=pk,
        patient_id=patient_pk,
    )


def get_session_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> TreatmentSession:
    _require(user, perm, TreatmentSession, patient, pk)
    return get_object_or_404(TreatmentSession.objects.select_related("doctor", "plan"), pk=pk, patient=patient)


def get_photo_for(user, patient: Patient, pk: int, *, perm: str = VIEW_CLINICAL) -> Photo:
    _require(user, perm, Photo, patient, pk)
    return get_object_or_404(Photo.objects.select_related("session"), pk=pk, patient=patient)


def get_batch_for(user, pk: int, *, perm: str) -> Batch:
    """A batch of the formulary for a traceability page (TRACE_BATCH) or a recall (RECALL_BATCH)."""
    require_perm(user, perm)
    return get_object_or_404(Batch.objects.select_related("product", "recalled_by"), pk=pk)
