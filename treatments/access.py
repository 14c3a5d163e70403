"""Access helpers for treatment records: every view that loads one goes through here.

Clinical records need patients.view_clinical to read and patients.record_clinical to write
(doctors). A record that does not belong to the patient in the URL is a 404.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404

from clinic.permissions import VIEW_CLINICAL
from clinic.rows import columns, split_row
from patients.access import MAX_ID, require_perm, require_record_perm
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


@cache
def _plan_with_patient_sql() -> str:
    """The plan page's plan with its patient, doctor, consultation and who cancelled it, and
    whether it has safety overrides: what select_related and an Exists annotation would send,
    written once (every column of each model, so the instances are whole) instead of compiled
    on every request."""
    user = get_user_model()
    plan = TreatmentPlan._meta
    column = {name: plan.get_field(name).column for name in ("patient", "doctor", "consultation", "cancelled_by")}
    return f"""
        SELECT {columns(TreatmentPlan, "pl")}, {columns(Patient, "pa")}, {columns(user, "dr")},
               {columns(Consultation, "co")}, {columns(user, "cb")},
               EXISTS (SELECT 1 FROM {SafetyOverride._meta.db_table} so WHERE so.plan_id = pl.id)
          FROM {plan.db_table} pl
          JOIN {Patient._meta.db_table} pa ON pa.id = pl.{column["patient"]}
          JOIN {user._meta.db_table} dr ON dr.id = pl.{column["doctor"]}
          JOIN {Consultation._meta.db_table} co ON co.id = pl.{column["consultation"]}
          LEFT JOIN {user._meta.db_table} cb ON cb.id = pl.{column["cancelled_by"]}
         WHERE pl.id = %s AND pl.{column["patient"]} = %s
    """  # noqa: S608 - our tables and columns, the ids are parameters


def get_plan_with_patient_for(user, patient_pk: int, pk: int, *, perm: str = VIEW_CLINICAL) -> TreatmentPlan:
    """The plan ``pk`` of patient ``patient_pk`` with its patient (``plan.patient``), doctor,
    consultation and canceller, and whether it has safety overrides (``plan.has_overrides``),
    in one query. The refusal is get_patient_for's (the plan's own check asks the same clinical
    permission, so it never refuses after it); a 404 whether the patient or the plan is missing."""
    require_record_perm(user, perm, object_type="clinical record", object_id=patient_pk, patient_id=patient_pk)
    if not (0 < pk <= MAX_ID and 0 < patient_pk <= MAX_ID):
        raise Http404  # no row has such an id (a URL may name any number)
    with connection.cursor() as cursor:
        cursor.execute(_plan_with_patient_sql(), [pk, patient_pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    user_model = get_user_model()
    plan, *related = split_row(row, [TreatmentPlan, Patient, user_model, Consultation, user_model])
    plan.has_overrides = row[-1]
    for name, instance in zip(("patient", "doctor", "consultation", "cancelled_by"), related, strict=True):
        TreatmentPlan._meta.get_field(name).set_cached_value(plan, instance)
    return plan


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
