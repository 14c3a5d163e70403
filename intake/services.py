"""Writes of intake questionnaires: sent when a consultation is booked, saved as a draft and
submitted by the patient, reviewed answer by answer by a doctor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import Actor
from intake import questions
from intake.models import IntakeAnswer, IntakeQuestionnaire
from messaging import keys
from messaging.models import ScheduledMessage
from messaging.services import message_schedule
from patients.models import HistoryItem, Patient
from patients.services import history_item_record, skin_profile_record

KIND = ScheduledMessage.Kind.INTAKE_QUESTIONNAIRE
ALREADY_SENT = (
    "You have already sent this questionnaire to the clinic: thank you. "
    "Tell us at your consultation if something has changed."
)
Section = IntakeAnswer.Section
Decision = IntakeAnswer.Decision


def questionnaire_request(*, patient: Patient, requested_for: str, now: datetime) -> IntakeQuestionnaire:
    """Ask the patient to fill in the questionnaire before the consultation ``requested_for``
    (a subject ref such as "appointment:42"): the questionnaire and its email, in the caller's
    transaction. Asking twice for the same booking changes nothing."""
    questionnaire, _ = IntakeQuestionnaire.objects.get_or_create(
        requested_for=requested_for, defaults={"patient": patient, "created_at": now}
    )
    message_schedule(
        kind=KIND,
        patient=patient,
        due_at=now,
        dedupe_key=keys.message_key(requested_for, KIND),
        subject_ref=requested_for,
        send_now=True,
    )
    return questionnaire


def _locked(questionnaire: IntakeQuestionnaire) -> IntakeQuestionnaire:
    locked = IntakeQuestionnaire.objects.select_for_update().get(pk=questionnaire.pk)
    if locked.is_submitted:
        raise ValidationError(ALREADY_SENT)
    return locked


@transaction.atomic
def questionnaire_save_draft(*, questionnaire: IntakeQuestionnaire, answers: dict[str, Any]) -> IntakeQuestionnaire:
    questionnaire = _locked(questionnaire)
    questionnaire.draft = answers
    questionnaire.draft_saved_at = timezone.now()
    questionnaire.save(update_fields=["draft", "draft_saved_at"])
    return questionnaire


@transaction.atomic
def questionnaire_submit(*, questionnaire: IntakeQuestionnaire, answers: dict[str, Any]) -> IntakeQuestionnaire:
    """The patient sends their answers: they become answers for a doctor to review, once.
    Nothing goes into the medical history here."""
    questionnaire = _locked(questionnaire)
    now = timezone.now()
    questionnaire.draft = answers
    questionnaire.draft_saved_at = now
    questionnaire.submitted_at = now
    questionnaire.save(update_fields=["draft", "draft_saved_at", "submitted_at"])
    for position, answer in enumerate(_answers_from(answers)):
        answer.questionnaire = questionnaire
        answer.position = position
        answer.full_clean(exclude=["questionnaire"])
        answer.save()
    return questionnaire


def _answers_from(answers: dict[str, Any]) -> list[IntakeAnswer]:
    found = []
    for category, codes in HistoryItem.CODES_BY_CATEGORY.items():
        for code in codes:
            if not answers.get(questions.tick_field(category, code)):
                continue
            text = (answers.get(questions.details_field(category, code)) or "").strip()
            if code == HistoryItem.Code.OTHER:
                found.append(IntakeAnswer(section=category, code=code, name=text[:200], details=""))
            else:
                found.append(IntakeAnswer(section=category, code=code, name=HistoryItem.Code(code).label, details=text))
    for section, fields in IntakeAnswer.SKIN_FIELDS_BY_SECTION.items():
        # Only what the patient answered: accepting it must not blank what the record holds.
        values = {name: answers[name] for name in fields if answers.get(name)}
        if values:
            found.append(IntakeAnswer(section=section, skin_values=values))
    return found


def _pending(answer: IntakeAnswer) -> IntakeAnswer:
    locked = IntakeAnswer.objects.select_for_update().select_related("questionnaire__patient").get(pk=answer.pk)
    if not locked.is_pending:
        raise ValidationError(f"This answer was already reviewed ({locked.get_decision_display().lower()}).")
    return locked


@transaction.atomic
def answer_accept(*, answer: IntakeAnswer, actor: Actor) -> IntakeAnswer:
    """The doctor takes the patient's answer into the record: a history entry, or a new
    version of the skin profile with the answered fields, marked as reported by the patient
    and reviewed by this doctor."""
    answer = _pending(answer)
    patient = answer.questionnaire.patient
    if answer.is_history:
        answer.history_item = history_item_record(
            patient=patient,
            fields={
                "category": answer.section,
                "code": answer.code,
                "name": answer.name or HistoryItem.Code(answer.code).label,
                "details": answer.details,
                "status": HistoryItem.Status.CURRENT,
            },
            actor=actor,
            reported_by_patient=True,
        )
    else:
        answer.skin_profile = skin_profile_record(
            patient=patient, fields=dict(answer.skin_values), actor=actor, reported_by_patient=True
        )
    return _decide(answer, Decision.ACCEPTED, actor)


@transaction.atomic
def answer_decline(*, answer: IntakeAnswer, actor: Actor) -> IntakeAnswer:
    """The doctor leaves the answer out of the record (already recorded, or not so); it stays
    on the questionnaire."""
    return _decide(_pending(answer), Decision.DECLINED, actor)


def _decide(answer: IntakeAnswer, decision: str, actor: Actor) -> IntakeAnswer:
    answer.decision = decision
    answer.decided_by = actor.user
    answer.decided_at = timezone.now()
    answer.save(update_fields=["decision", "decided_by", "decided_at", "history_item", "skin_profile"])
    return answer
