"""The questionnaire email (registered with the outbox from IntakeConfig.ready): a signed,
expiring link to the questionnaire, skipped if the patient has already sent it."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from intake.models import IntakeQuestionnaire
from messaging.emails import EmailContent, register_builder
from messaging.links import absolute_url, make_token
from messaging.models import ScheduledMessage

LINK_ACTION = "intake_questionnaire"


def questionnaire_url(questionnaire: IntakeQuestionnaire) -> str:
    token = make_token(LINK_ACTION, questionnaire.pk)
    return absolute_url(reverse("intake:questionnaire", args=[token]))


@register_builder(ScheduledMessage.Kind.INTAKE_QUESTIONNAIRE)
def intake_questionnaire(message: ScheduledMessage) -> EmailContent:
    questionnaire = IntakeQuestionnaire.objects.filter(requested_for=message.subject_ref).first()
    if questionnaire is None:
        return EmailContent(skip="The questionnaire no longer exists.")
    if questionnaire.is_submitted:
        return EmailContent(skip="The patient has already sent the questionnaire.")
    return EmailContent(
        context={
            "questionnaire_url": questionnaire_url(questionnaire),
            "link_days": settings.EMAIL_LINK_MAX_AGE_DAYS,
        }
    )
