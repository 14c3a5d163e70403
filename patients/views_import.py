"""Import patients from another system's CSV file (patients/importing.py): upload, map the
columns, preview (dry run), import. Receptionists and managers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.permissions import IMPORT_PATIENTS
from patients import importing
from patients.access import get_patient_import_for, require_perm
from patients.forms import ImportMappingForm, ImportUploadForm
from patients.models import PatientImport

RECENT_IMPORTS = 10


@require_http_methods(["GET", "POST"])
@login_required
def import_upload(request):
    require_perm(request.user, IMPORT_PATIENTS)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient_import = importing.import_upload(upload=form.cleaned_data["file"], uploaded_by=request.user)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("patients:import_mapping", pk=patient_import.pk)
    recent = PatientImport.objects.select_related("uploaded_by").defer("content")[:RECENT_IMPORTS]
    return render(
        request,
        "patients/import_upload.html",
        {"form": form, "recent": recent, "required_labels": [importing.FIELDS[name] for name in importing.REQUIRED]},
        status=400 if form.errors else 200,
    )


def _refuse_if_imported(request, patient_import: PatientImport):
    if patient_import.status == PatientImport.Status.IMPORTED:
        messages.info(
            request, f"{patient_import.filename} was already imported ({patient_import.imported_count} patients)."
        )
        return redirect("patients:import_upload")
    return None


@require_http_methods(["GET", "POST"])
@login_required
def import_mapping(request, pk: int):
    patient_import = get_patient_import_for(request.user, pk)
    if refused := _refuse_if_imported(request, patient_import):
        return refused
    form = ImportMappingForm(
        request.POST or None,
        initial={name: str(index) for name, index in patient_import.mapping.items()},
        headers=patient_import.headers,
        fields=importing.FIELDS,
        required=importing.REQUIRED,
    )
    if request.method == "POST" and form.is_valid():
        try:
            importing.import_set_mapping(patient_import=patient_import, mapping=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("patients:import_preview", pk=patient_import.pk)
    return render(
        request,
        "patients/import_mapping.html",
        {"form": form, "patient_import": patient_import},
        status=400 if form.errors else 200,
    )


@require_GET
@login_required
def import_preview(request, pk: int):
    patient_import = get_patient_import_for(request.user, pk)
    if refused := _refuse_if_imported(request, patient_import):
        return refused
    if not patient_import.mapping:
        return redirect("patients:import_mapping", pk=patient_import.pk)
    check = importing.import_check(patient_import)
    return render(request, "patients/import_preview.html", {"patient_import": patient_import, "check": check})


@require_POST
@login_required
def import_run(request, pk: int):
    patient_import = get_patient_import_for(request.user, pk)
    if refused := _refuse_if_imported(request, patient_import):
        return refused
    try:
        count = importing.import_run(patient_import=patient_import, imported_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("patients:import_preview", pk=patient_import.pk)
    messages.success(request, f"{count} patients were imported from {patient_import.filename}.")
    return redirect("patients:list")
