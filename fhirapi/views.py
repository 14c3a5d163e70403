"""Pages: API tokens (managers create, list and revoke them) and the subject access export
(a zip of everything held about one patient). Function views; access through the helpers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.audit import Actor
from clinic.permissions import ADD_API_TOKEN, EXPORT_PATIENT_RECORD, REVOKE_API_TOKEN, VIEW_API_TOKEN
from fhirapi import export, services
from fhirapi.forms import ApiTokenForm
from fhirapi.models import ApiToken
from patients.access import get_patient_for, require_perm


@require_GET
@login_required
def token_list(request):
    require_perm(request.user, VIEW_API_TOKEN)
    tokens = ApiToken.objects.select_related("created_by", "revoked_by")
    return render(request, "fhirapi/token_list.html", {"tokens": tokens})


@require_http_methods(["GET", "POST"])
@login_required
def token_create(request):
    require_perm(request.user, ADD_API_TOKEN)
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.api_token_create(
                name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], created_by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Shown once, on this answer to the POST (no redirect: the secret must not be kept
            # in the session or a message to show it on the next page).
            response = render(
                request,
                "fhirapi/token_created.html",
                {"token": token, "secret": secret, "api_base": request.build_absolute_uri("/fhir")},
            )
            patch_cache_control(response, no_store=True, private=True)
            return response
    return render(request, "fhirapi/token_form.html", {"form": form})


@require_POST
@login_required
def token_revoke(request, pk: int):
    require_perm(request.user, REVOKE_API_TOKEN)
    token = get_object_or_404(ApiToken, pk=pk)
    was_revoked = token.is_revoked
    services.api_token_revoke(token=token, revoked_by=request.user)
    if was_revoked:
        messages.info(request, f"The token '{token.name}' was already revoked.")
    else:
        messages.success(request, f"The token '{token.name}' is revoked: it no longer opens the API.")
    return redirect("fhirapi:token_list")


@require_POST
@login_required
def patient_export(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=EXPORT_PATIENT_RECORD)
    archive = export.patient_export(patient=patient, actor=Actor.from_request(request))
    filename = f"patient-{patient.pk}-record-{timezone.localdate():%Y-%m-%d}.zip"
    response = FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")
    patch_cache_control(response, no_store=True, private=True)
    return response
