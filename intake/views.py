"""The patient's questionnaire (public, from the emailed link: GET shows, POST saves) and the
doctor's review of the answers beside the current history."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.audit import Actor, audit_read
from clinic.forms import service_error_text
from clinic.permissions import RECORD_CLINICAL, VIEW_CLINICAL
from intake import services
from intake.access import get_answer_for, get_questionnaire_for
from intake.emails import LINK_ACTION
from intake.forms import AnswerDecisionForm, QuestionnaireForm
from intake.models import IntakeAnswer, IntakeQuestionnaire
from messaging.links import linked_object
from patients.access import get_patient_for
from patients.models import HistoryItem

# Public pages -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
def questionnaire(request, token: str):
    questionnaire, error_page = linked_object(
        request, token, action=LINK_ACTION,
        queryset=IntakeQuestionnaire.objects.select_related("patient"),
        missing="This questionnaire no longer exists.",
    )  # fmt: skip
    if error_page is not None:
        return error_page
    if questionnaire.is_submitted:
        # Sent already: a second POST (a double tap, the back button) changes nothing.
        return _sent(request, questionnaire, status=409 if request.method == "POST" else 200)
    if request.method == "GET":
        form = QuestionnaireForm(initial=questionnaire.draft)
        return _questionnaire_page(request, questionnaire, form)
    form = QuestionnaireForm(request.POST)
    if not form.is_valid():
        # Nothing saved: the last draft stays as it was, the page shows what was typed.
        return _questionnaire_page(request, questionnaire, form, status=400)
    try:
        if form.submitting:
            services.questionnaire_submit(questionnaire=questionnaire, answers=form.answers())
        else:
            services.questionnaire_save_draft(questionnaire=questionnaire, answers=form.answers())
    except ValidationError as error:
        questionnaire.refresh_from_db()
        return _sent(request, questionnaire, status=409, problem=service_error_text(error))
    return redirect(request.path)


def _questionnaire_page(request, questionnaire: IntakeQuestionnaire, form: QuestionnaireForm, *, status: int = 200):
    return render(
        request,
        "intake/questionnaire.html",
        {"questionnaire": questionnaire, "form": form, "sections": form.sections()},
        status=status,
    )


def _sent(request, questionnaire: IntakeQuestionnaire, *, status: int, problem: str = ""):
    return render(
        request,
        "intake/questionnaire_sent.html",
        {"questionnaire": questionnaire, "problem": problem or (services.ALREADY_SENT if status == 409 else "")},
        status=status,
    )


# The doctor's review -------------------------------------------------------------------


@require_GET
@login_required
def review(request, pk: int, questionnaire_pk: int):
    patient = get_patient_for(request.user, pk, perm=VIEW_CLINICAL)
    questionnaire = get_questionnaire_for(request.user, patient, questionnaire_pk)
    answers = list(questionnaire.answers.select_related("decided_by"))
    items = list(patient.history_items.current().select_related("recorded_by"))
    profile = patient.skin_profiles.current().first()
    sections = []
    for section, label in IntakeAnswer.Section.choices:
        row = {"section": section, "label": label, "answers": [a for a in answers if a.section == section]}
        if section in IntakeAnswer.HISTORY_SECTIONS:
            row["label"] = HistoryItem.PLURAL_LABELS[section]
            row["current"] = [item for item in items if item.category == section]
        else:
            fields = IntakeAnswer.SKIN_FIELDS_BY_SECTION[section]
            row["current_skin"] = IntakeAnswer(
                section=section, skin_values=_skin_values(profile, fields)
            ).skin_display()
            row["has_profile"] = profile is not None
        sections.append(row)
    audit_read(request, patient=patient, obj=questionnaire, object_type="intake questionnaire")
    return render(
        request,
        "intake/review.html",
        {
            "patient": patient,
            "questionnaire": questionnaire,
            "sections": sections,
            "pending": sum(answer.is_pending for answer in answers),
        },
    )


def _skin_values(profile, fields: tuple[str, ...]) -> dict:
    if profile is None:
        return {}
    return {name: getattr(profile, name) for name in fields}


@require_POST
@login_required
def answer_decide(request, pk: int, answer_pk: int):
    patient = get_patient_for(request.user, pk, perm=RECORD_CLINICAL)
    answer = get_answer_for(request.user, patient, answer_pk, perm=RECORD_CLINICAL)
    form = AnswerDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to accept or decline the answer.")
    else:
        actor = Actor.from_request(request)
        try:
            if form.cleaned_data["decision"] == "accept":
                services.answer_accept(answer=answer, actor=actor)
                messages.success(request, f"“{answer.summary}” was added to the record as reported by the patient.")
            else:
                services.answer_decline(answer=answer, actor=actor)
                messages.info(request, f"“{answer.summary}” was left out of the record.")
        except ValidationError as error:
            messages.error(request, service_error_text(error))
    return redirect("intake:review", pk=patient.pk, questionnaire_pk=answer.questionnaire_id)
