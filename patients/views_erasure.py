"""Erasure on request and the retention review (patients/erasure.py): managers only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.audit import Actor
from clinic.permissions import DELETE_PATIENT
from patients import erasure
from patients.access import get_erasure_request_for, get_patient_for, require_perm
from patients.forms import ErasureForm, RetentionPurgeForm
from patients.models import ErasureRequest

RECENT_DECISIONS = 50


@require_http_methods(["GET", "POST"])
@login_required
def patient_erase(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=DELETE_PATIENT)
    if patient.is_erased:
        messages.info(request, "This record was already erased.")
        return redirect("patients:detail", pk=patient.pk)
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = erasure.patient_erase(
                patient=patient, actor=Actor.from_request(request), note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if outcome.outcome == ErasureRequest.Outcome.ERASED:
                messages.success(request, f"Patient #{outcome.patient_number}'s personal data was erased.")
                return redirect("patients:list")
            messages.warning(
                request,
                "The clinical records must be kept until "
                f"{outcome.retain_until:%d %b %Y}, so they were not erased. The contact details and "
                "email preferences were erased and unsent emails cancelled; the request is recorded.",
            )
            return redirect("patients:detail", pk=patient.pk)
    retain_until = erasure.patient_retention_date(patient)
    context = {
        "patient": patient,
        "form": form,
        "retain_until": retain_until,
        "appointment_count": patient.appointments.count(),
        "message_count": patient.scheduled_messages.count(),
        "retention_rule": erasure.retention_rule(),
    }
    return render(request, "patients/patient_erase.html", context, status=400 if form.errors else 200)


@require_GET
@login_required
def retention_list(request):
    require_perm(request.user, DELETE_PATIENT)
    requests = ErasureRequest.objects.select_related("patient", "requested_by", "decided_by")
    pending = list(requests.filter(outcome=ErasureRequest.Outcome.PENDING).order_by("retain_until", "pk"))
    decided = list(requests.exclude(outcome=ErasureRequest.Outcome.PENDING)[:RECENT_DECISIONS])
    return render(
        request,
        "patients/retention_list.html",
        {
            "pending": pending,
            "decided": decided,
            "form": RetentionPurgeForm(),
            "retention_rule": erasure.retention_rule(),
        },
    )


@require_POST
@login_required
def retention_purge(request, request_pk: int):
    erasure_request = get_erasure_request_for(request.user, request_pk)
    form = RetentionPurgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Tick the box to confirm the purge: nothing was purged.")
        return redirect("patients:retention")
    try:
        erasure.retention_purge(request=erasure_request, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Patient #{erasure_request.patient_number}'s record was purged.")
    return redirect("patients:retention")
