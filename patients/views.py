"""Patient records and medical history. Function views: parse a form, call a service,
render or redirect. Access goes through patients.access; clinical reads are audited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.audit import CONTACT_DETAILS, Actor, audit_read, audit_search
from clinic.forms import add_service_errors, service_error_text
from clinic.permissions import (
    ADD_PATIENT,
    ARCHIVE_PATIENT,
    CHANGE_PATIENT,
    DELETE_PATIENT,
    RECORD_CLINICAL,
    VIEW_CLINICAL,
    VIEW_PATIENT,
)
from patients import selectors, services
from patients.access import (
    get_consent_for,
    get_history_item_for,
    get_patient_for,
    require_perm,
)
from patients.forms import (
    ConsentChoiceForm,
    ConsentSignForm,
    ConsentWithdrawForm,
    HistoryItemForm,
    HistoryRowFormSet,
    PatientForm,
    PatientSearchForm,
    SkinProfileForm,
    history_item_initial,
)
from patients.models import HistoryItem, Patient, SkinProfile

PAGE_SIZE = 25
PATIENT_PAGE_CLINICAL = "contact details and clinical summary"


@require_GET
@login_required
def patient_list(request):
    require_perm(request.user, VIEW_PATIENT)
    form = PatientSearchForm(request.GET or None)
    query, include_archived = "", False
    if form.is_valid():
        query = form.cleaned_data["q"]
        include_archived = form.cleaned_data["archived"]
    if query:
        audit_search(request, query=query)
    page = selectors.patient_search_page(
        query, include_archived=include_archived, number=request.GET.get("page"), per_page=PAGE_SIZE
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "patients/patient_list.html",
        {"form": form, "page": page, "query": query, "params": params.urlencode()},
    )


@require_http_methods(["GET", "POST"])
@login_required
def patient_register(request):
    require_perm(request.user, ADD_PATIENT)
    duplicates: list[Patient] = []
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = selectors.possible_duplicates(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            phone=data["phone"],
            email=data["email"],
        )
        if duplicates and not data.get("confirm_not_duplicate"):
            form.add_error(
                "confirm_not_duplicate",
                "Possible duplicates were found (listed above). Open them to check, or tick this box "
                "if this is a different person.",
            )
        else:
            try:
                patient = services.patient_register(fields=form.patient_fields(), actor=Actor.from_request(request))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{patient.full_name} was registered.")
                return redirect("patients:detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "duplicates": duplicates, "patient": None})


@require_GET
@login_required
def patient_detail(request, pk: int):
    patient = get_patient_for(request.user, pk)
    context = {"patient": patient}
    # One audit entry for the whole page: the contact details, and for clinical staff the
    # safety summary and the treatments panel (which the treatments template tag loads).
    shown = CONTACT_DETAILS
    if request.user.has_perm(VIEW_CLINICAL):
        items, profile, reviewed_on = selectors.patient_safety_reads(patient)
        context["safety"] = selectors.patient_safety_summary(
            patient, items=items, profile=profile, reviewed_on=reviewed_on
        )
        shown = PATIENT_PAGE_CLINICAL
    context["can_delete"] = (
        request.user.has_perm(DELETE_PATIENT)
        and not patient.is_erased
        and not services.patient_has_clinical_records(patient)
    )
    audit_read(request, patient=patient, obj=patient, object_type=shown)
    return render(request, "patients/patient_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def patient_edit(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=CHANGE_PATIENT)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(patient=patient, fields=form.patient_fields(), actor=Actor.from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The patient's details were saved.")
            return redirect("patients:detail", pk=patient.pk)
    audit_read(request, patient=patient, obj=patient, object_type=CONTACT_DETAILS)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient, "duplicates": []})


@require_POST
@login_required
def patient_archive(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=ARCHIVE_PATIENT)
    try:
        services.patient_archive(patient=patient, archived_by=request.user)
    except ValidationError as error:
        messages.error(request, service_error_text(error))
    else:
        messages.success(request, f"{patient.full_name} was archived. The record is kept and can be restored.")
    return redirect("patients:detail", pk=patient.pk)


@require_POST
@login_required
def patient_restore(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=ARCHIVE_PATIENT)
    try:
        services.patient_restore(patient=patient)
    except ValidationError as error:
        messages.error(request, service_error_text(error))
    else:
        messages.success(request, f"{patient.full_name} was restored.")
    return redirect("patients:detail", pk=patient.pk)


@require_POST
@login_required
def patient_delete(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=DELETE_PATIENT)
    try:
        services.patient_delete(patient=patient, actor=Actor.from_request(request))
    except ValidationError as error:
        messages.error(request, service_error_text(error))
        return redirect("patients:detail", pk=patient.pk)
    messages.success(request, "The record was deleted.")
    return redirect("patients:list")


# Medical history (doctors) ------------------------------------------------------------


@require_GET
@login_required
def medical_history(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    items = list(patient.history_items.current().select_related("recorded_by", "reviewed_by"))
    profile = patient.skin_profiles.current().select_related("recorded_by").first()
    consents = list(selectors.consents_for(patient))
    audit_read(request, patient=patient, object_type="medical history")
    by_category = {
        HistoryItem.PLURAL_LABELS[value]: [item for item in items if item.category == value]
        for value in HistoryItem.Category.values
    }
    return render(
        request,
        "patients/medical_history.html",
        {
            "patient": patient,
            "items_by_category": by_category,
            "profile": profile,
            "consents": consents,
            "safety": selectors.patient_safety_summary(patient, items=items, profile=profile),
            "questionnaires": selectors.questionnaires_to_review(patient),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def history_edit(request, pk: int):
    """The whole medical history in one form: every category with its own type list, the
    current entries filled in. Saving writes versions only for what changed."""
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    current = {
        item.pk: item for item in patient.history_items.current().exclude(status=HistoryItem.Status.ENTERED_IN_ERROR)
    }
    data = request.POST if request.method == "POST" else None
    formsets = [
        HistoryRowFormSet(
            data,
            category=category,
            initial=[history_item_initial(item) for item in current.values() if item.category == category],
        )
        for category in HistoryItem.Category.values
    ]
    problem = ""
    if data is not None:
        valid = [formset.is_valid() for formset in formsets]  # every category, so each shows its errors
        if all(valid):
            rows, problem = _history_rows(formsets, current)
            if not problem:
                try:
                    changes = services.medical_history_save(
                        patient=patient, rows=rows, actor=Actor.from_request(request)
                    )
                except ValidationError as error:
                    problem = service_error_text(error)
                else:
                    if changes.total:
                        messages.success(
                            request,
                            f"The medical history was saved: {changes.added} added, {changes.changed} changed, "
                            f"{changes.removed} removed. Earlier versions are kept.",
                        )
                    else:
                        messages.info(request, "Nothing was changed.")
                    return redirect("patients:medical_history", pk=patient.pk)
        else:
            problem = "Some entries need correcting: see the messages under them."
    audit_read(request, patient=patient, object_type="medical history")
    return render(
        request,
        "patients/history_edit.html",
        {"patient": patient, "formsets": formsets, "problem": problem},
        status=400 if problem else 200,
    )


def _history_rows(formsets, current: dict[int, HistoryItem]) -> tuple[list[services.HistoryRow], str]:
    """The form's lines as service rows; a line about an entry that is no longer the current
    version (changed meanwhile) or not this patient's is refused."""
    rows = []
    for formset in formsets:
        for form in formset.forms:
            if form.is_blank_new_row:
                continue
            item_id = form.cleaned_data.get("item")
            item = current.get(item_id) if item_id else None
            if item_id and (item is None or item.category != formset.category):
                return [], "An entry was changed meanwhile by someone else: reload the page and try again."
            rows.append(
                services.HistoryRow(item=item, fields=form.item_fields(), remove=bool(form.cleaned_data.get("remove")))
            )
    return rows, ""


@require_http_methods(["GET", "POST"])
@login_required
def history_item_add(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    initial = {"category": request.GET.get("category")} if request.GET.get("category") in HistoryItem.Category else {}
    form = HistoryItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.history_item_record(
                patient=patient, fields=form.item_fields(), actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{item.get_category_display()} '{item.name}' was recorded.")
            return redirect("patients:medical_history", pk=patient.pk)
    return render(request, "patients/history_item_form.html", {"form": form, "patient": patient, "item": None})


@require_http_methods(["GET", "POST"])
@login_required
def history_item_edit(request, pk: int, item_pk: int):
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    item = get_history_item_for(request.user, patient, item_pk, perm=RECORD_CLINICAL)
    if item.is_superseded:
        messages.info(request, "That was an earlier version; you are editing the current one.")
        current = HistoryItem.objects.current().get(lineage=item.lineage)
        return redirect("patients:history_item_edit", pk=patient.pk, item_pk=current.pk)
    form = HistoryItemForm(request.POST or None, instance=None, initial=_model_initial(item), revising=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.history_item_revise(item=item, fields=form.item_fields(), actor=Actor.from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The entry was updated; the earlier version is kept in its history.")
            return redirect("patients:medical_history", pk=patient.pk)
    audit_read(request, patient=patient, obj=item)
    return render(request, "patients/history_item_form.html", {"form": form, "patient": patient, "item": item})


def _model_initial(item: HistoryItem) -> dict:
    return {name: getattr(item, name) for name in services.HISTORY_FIELDS}


@require_GET
@login_required
def history_item_versions(request, pk: int, item_pk: int):
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    item = get_history_item_for(request.user, patient, item_pk)
    versions = list(selectors.history_versions(item))
    audit_read(request, patient=patient, obj=item)
    return render(request, "patients/history_item_versions.html", {"patient": patient, "versions": versions})


@require_http_methods(["GET", "POST"])
@login_required
def skin_profile_edit(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    current = patient.skin_profiles.current().first()
    initial = {name: getattr(current, name) for name in services.SKIN_FIELDS} if current else {}
    form = SkinProfileForm(request.POST or None, initial=initial, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.skin_profile_record(
                patient=patient, fields=form.profile_fields(), actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The skin profile was saved; earlier versions are kept.")
            return redirect("patients:medical_history", pk=patient.pk)
    audit_read(request, patient=patient, obj=current, object_type="skin profile")
    return render(request, "patients/skin_profile_form.html", {"form": form, "patient": patient})


@require_GET
@login_required
def skin_profile_versions(request, pk: int):
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    versions = list(SkinProfile.objects.filter(patient=patient).select_related("recorded_by").order_by("-version"))
    audit_read(request, patient=patient, object_type="skin profile")
    return render(request, "patients/skin_profile_versions.html", {"patient": patient, "versions": versions})


@require_http_methods(["GET", "POST"])
@login_required
def consent_add(request, pk: int):
    """Choose a consent (current versions only), then show its full text with the signature
    pad: the patient reads it on the clinic's tablet, draws their signature and types their name."""
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    if request.method == "POST":
        form = ConsentSignForm(request.POST)
        if form.is_valid():
            try:
                consent = services.consent_give(
                    patient=patient,
                    document=form.cleaned_data["document"],
                    signed_name=form.cleaned_data["signed_name"],
                    signature_png=form.cleaned_data["signature"],
                    witnessed_by=form.cleaned_data["witnessed_by"],
                    actor=Actor.from_request(request),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "The consent was signed and recorded.")
                return redirect("patients:consent_detail", pk=patient.pk, consent_pk=consent.pk)
        document = form.cleaned_data.get("document")
        if document is None:
            # The text signed is no longer current (or was never offered): start again from the choice.
            problem = " ".join(form.errors.get("document") or ["Choose the consent to sign."])
            return _consent_choice(request, patient, ConsentChoiceForm(), problem=problem, status=400)
        return _consent_sign(request, patient, document, form, status=400)
    if "document" not in request.GET:
        return _consent_choice(request, patient, ConsentChoiceForm())
    choice = ConsentChoiceForm(request.GET)
    if not choice.is_valid():
        return _consent_choice(request, patient, choice, status=400)
    document = choice.cleaned_data["document"]
    form = ConsentSignForm(initial={"document": document, "witnessed_by": request.user})
    return _consent_sign(request, patient, document, form)


def _consent_choice(request, patient: Patient, choice: ConsentChoiceForm, *, problem: str = "", status: int = 200):
    return render(
        request, "patients/consent_form.html", {"patient": patient, "choice": choice, "problem": problem}, status=status
    )


def _consent_sign(request, patient: Patient, document, form: ConsentSignForm, *, status: int = 200):
    return render(
        request,
        "patients/consent_form.html",
        {"patient": patient, "document": document, "form": form, "today": timezone.localdate()},
        status=status,
    )


@require_GET
@login_required
def consent_detail(request, pk: int, consent_pk: int):
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    consent = get_consent_for(request.user, patient, consent_pk)
    audit_read(request, patient=patient, obj=consent)
    return render(
        request,
        "patients/consent_detail.html",
        {"patient": patient, "consent": consent, "withdraw_form": ConsentWithdrawForm()},
    )


@require_GET
@login_required
def consent_print(request, pk: int, consent_pk: int):
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    consent = get_consent_for(request.user, patient, consent_pk)
    audit_read(request, patient=patient, obj=consent)
    return render(request, "patients/consent_print.html", {"patient": patient, "consent": consent})


@require_GET
@login_required
def consent_signature(request, pk: int, consent_pk: int):
    """The patient's drawn signature, for the consent pages; never from a public URL."""
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    consent = get_consent_for(request.user, patient, consent_pk)
    if not consent.is_signed:
        raise Http404("This consent was recorded before patient signatures.")
    audit_read(request, patient=patient, obj=consent, object_type="consent signature")
    response = HttpResponse(bytes(consent.signature_png), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="consent-{consent.pk}-signature.png"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@login_required
def consent_withdraw(request, pk: int, consent_pk: int):
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    consent = get_consent_for(request.user, patient, consent_pk, perm=RECORD_CLINICAL)
    if consent.is_withdrawn:
        messages.info(request, "This consent was already withdrawn.")
        return redirect("patients:consent_detail", pk=patient.pk, consent_pk=consent.pk)
    form = ConsentWithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(
                consent=consent, reason=form.cleaned_data["reason"], actor=Actor.from_request(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "The consent was withdrawn. The record is kept.")
            return redirect("patients:consent_detail", pk=patient.pk, consent_pk=consent.pk)
    audit_read(request, patient=patient, obj=consent)
    return render(
        request,
        "patients/consent_detail.html",
        {"patient": patient, "consent": consent, "withdraw_form": form},
        status=400,
    )
