"""The link in the questionnaire email. The email itself is about the booking that asked for
it, so scheduling builds it (scheduling/emails.py): it is skipped when the consultation was
cancelled or is over, or once the patient has sent the questionnaire."""

from __future__ import annotations

from django.urls import reverse

from intake.models import IntakeQuestionnaire
from messaging.links import absolute_url, make_token

LINK_ACTION = "intake_questionnaire"


def questionnaire_url(questionnaire: IntakeQuestionnaire) -> str:
    token = make_token(LINK_ACTION, questionnaire.pk)
    return absolute_url(reverse("intake:questionnaire", args=[token]))
