"""The intake questionnaire: emailed when a consultation is booked, filled in by the patient
through the signed link, accepted answer by answer by the doctor."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from clinic.audit import Actor
from intake import services
from intake.emails import LINK_ACTION
from intake.models import IntakeAnswer, IntakeQuestionnaire
from messaging.links import make_token
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from patients.models import HistoryItem, SkinProfile, Source
from scheduling import services as scheduling
from tests.factories import HistoryItemFactory, SkinProfileFactory
from tests.intake.factories import ANSWERS, IntakeQuestionnaireFactory, SubmittedQuestionnaireFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import appointment_type

pytestmark = pytest.mark.django_db
Kind, Status = ScheduledMessage.Kind, ScheduledMessage.Status


def at(hour: int, days: int = 3) -> datetime.datetime:
    day = MONDAY + datetime.timedelta(days=days)
    return datetime.datetime(day.year, day.month, day.day, hour, 0, tzinfo=datetime.UTC)


def book(patient, practitioner, type_name: str = "Consultation"):
    return scheduling.appointment_book(
        patient=patient, practitioner=practitioner, appointment_type=appointment_type(type_name),
        starts_at=at(11), booked_by=practitioner.user,
    )  # fmt: skip


def link_of(questionnaire) -> str:
    return reverse("intake:questionnaire", args=[make_token(LINK_ACTION, questionnaire.pk)])


def emailed_link() -> str:
    message = ScheduledMessage.objects.get(kind=Kind.INTAKE_QUESTIONNAIRE)
    assert message_deliver(message.pk) == "sent"
    email = mail.outbox[-1]
    url = re.search(r"https?://\S+/questionnaire/\S+/", email.body).group(0)
    assert url in email.alternatives[0][0]
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def post(client, url: str, action: str, **answers):
    return client.post(url, {"action": action, **answers})


# The email ---------------------------------------------------------------------------


def test_booking_a_consultation_emails_the_questionnaire_link(frozen_now, client, patient, practitioner):
    appointment = book(patient, practitioner)
    questionnaire = IntakeQuestionnaire.objects.get(patient=patient)
    assert questionnaire.requested_for == appointment.subject_ref
    url = emailed_link()
    assert mail.outbox[-1].to == ["jane@example.com"]
    assert "Before your consultation" in mail.outbox[-1].subject
    response = client.get(url)
    assert response.status_code == 200
    assert "Are you allergic to any of these?" in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


def test_a_mesotherapy_session_booking_sends_no_questionnaire(frozen_now, patient, practitioner):
    book(patient, practitioner, "Mesotherapy session")
    assert not IntakeQuestionnaire.objects.exists()
    assert not ScheduledMessage.objects.filter(kind=Kind.INTAKE_QUESTIONNAIRE).exists()


def test_cancelling_the_consultation_cancels_the_unsent_questionnaire_email(frozen_now, patient, practitioner):
    appointment = book(patient, practitioner)
    scheduling.appointment_cancel(appointment=appointment, reason="Ill", cancelled_by=practitioner.user)
    assert ScheduledMessage.objects.get(kind=Kind.INTAKE_QUESTIONNAIRE).status == Status.CANCELLED


def test_no_email_once_the_patient_has_sent_the_questionnaire(frozen_now, patient, practitioner):
    book(patient, practitioner)
    services.questionnaire_submit(questionnaire=IntakeQuestionnaire.objects.get(), answers=ANSWERS)
    message = ScheduledMessage.objects.get(kind=Kind.INTAKE_QUESTIONNAIRE)
    assert message_deliver(message.pk) == "cancelled"
    message.refresh_from_db()
    assert message.last_error == "The patient has already sent the questionnaire."
    assert mail.outbox == []


# The link ----------------------------------------------------------------------------


def test_expired_link_is_refused_and_changes_nothing(client, settings):
    questionnaire = IntakeQuestionnaireFactory()
    url = link_of(questionnaire)
    with time_machine.travel(datetime.timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS + 1)):
        response = post(client, url, "submit", pregnancy="no", confirm="on")
    assert response.status_code == 400
    assert "This link has expired." in response.content.decode()
    questionnaire.refresh_from_db()
    assert questionnaire.submitted_at is None
    assert questionnaire.draft == {}


def test_tampered_link_is_refused(client):
    questionnaire = IntakeQuestionnaireFactory()
    token = make_token(LINK_ACTION, questionnaire.pk)
    response = client.get(reverse("intake:questionnaire", args=[token[:-3] + "abc"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    # A link made for another action (an unsubscribe link of the same id) does not open it either.
    response = client.get(reverse("intake:questionnaire", args=[make_token("unsubscribe", questionnaire.pk)]))
    assert response.status_code == 400


def test_get_never_changes_anything(client):
    questionnaire = IntakeQuestionnaireFactory()
    client.get(link_of(questionnaire), {"action": "submit", "pregnancy": "no", "confirm": "on"})
    questionnaire.refresh_from_db()
    assert questionnaire.submitted_at is None
    assert questionnaire.draft_saved_at is None


# Drafts, bad input, submitting ---------------------------------------------------------


def test_draft_is_saved_and_shown_again(client):
    questionnaire = IntakeQuestionnaireFactory()
    url = link_of(questionnaire)
    answers = {"allergy__latex": "on", "allergy__latex__details": "Gloves", "smoking": "former"}
    response = post(client, url, "draft", **answers)
    assert response.status_code == 302
    questionnaire.refresh_from_db()
    assert questionnaire.draft["allergy__latex__details"] == "Gloves"
    assert questionnaire.submitted_at is None
    page = client.get(url)
    assert page.context["form"]["allergy__latex"].value() is True
    assert page.context["form"]["smoking"].value() == "former"
    assert "Draft saved on" in page.content.decode()
    assert not IntakeAnswer.objects.exists()


def test_control_characters_and_overlong_answers_are_refused_and_the_draft_kept(client):
    questionnaire = IntakeQuestionnaireFactory()
    url = link_of(questionnaire)
    post(client, url, "draft", cleanser="Gentle foam")
    response = post(client, url, "draft", cleanser="Foam\x07", routine_notes="x" * 2001)
    assert response.status_code == 400
    body = response.content.decode()
    assert "invisible control character" in body
    assert "under 2000 characters (it has 2001)" in body
    questionnaire.refresh_from_db()
    assert questionnaire.draft["cleanser"] == "Gentle foam"


def test_sending_asks_for_the_missing_answers_and_keeps_the_draft(client):
    questionnaire = IntakeQuestionnaireFactory()
    url = link_of(questionnaire)
    post(client, url, "draft", cleanser="Gentle foam")
    response = post(client, url, "submit", **{"allergy__other": "on", "cleanser": "Gentle foam"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Please answer this question" in body
    assert "please say what it is" in body
    assert "Please confirm your answers" in body
    questionnaire.refresh_from_db()
    assert questionnaire.submitted_at is None
    assert questionnaire.draft["cleanser"] == "Gentle foam"


def test_submitting_makes_answers_to_review_and_touches_no_history(client):
    questionnaire = IntakeQuestionnaireFactory()
    data = {key: ("on" if value is True else value) for key, value in ANSWERS.items()}
    response = post(client, link_of(questionnaire), "submit", confirm="on", **data)
    assert response.status_code == 302
    questionnaire.refresh_from_db()
    assert questionnaire.submitted_at is not None
    sections = list(questionnaire.answers.values_list("section", "code", "decision"))
    assert sections == [
        ("allergy", "latex", "pending"), ("medication", "anticoagulant", "pending"),
        ("pregnancy", "", "pending"), ("routine", "", "pending"),
    ]  # fmt: skip
    assert not HistoryItem.objects.exists()
    assert not SkinProfile.objects.exists()
    assert "Thank you" in client.get(link_of(questionnaire)).content.decode()


def test_submitting_twice_is_refused_and_changes_nothing(client):
    questionnaire = SubmittedQuestionnaireFactory()
    before = (questionnaire.submitted_at, questionnaire.draft, questionnaire.answers.count())
    response = post(client, link_of(questionnaire), "submit", pregnancy="pregnant", confirm="on")
    assert response.status_code == 409
    assert "already sent this questionnaire" in response.content.decode()
    questionnaire.refresh_from_db()
    assert (questionnaire.submitted_at, questionnaire.draft, questionnaire.answers.count()) == before
    # A draft after sending is refused the same way.
    assert post(client, link_of(questionnaire), "draft", cleanser="x").status_code == 409


# The doctor's review -------------------------------------------------------------------


def review_url(questionnaire) -> str:
    return reverse("intake:review", args=[questionnaire.patient.pk, questionnaire.pk])


def decide(client, answer, decision: str):
    url = reverse("intake:answer_decide", args=[answer.questionnaire.patient.pk, answer.pk])
    return client.post(url, {"decision": decision})


def test_review_shows_the_answers_beside_the_current_history(doctor_client, doctor):
    questionnaire = SubmittedQuestionnaireFactory()
    HistoryItemFactory(patient=questionnaire.patient, recorded_by=doctor, name="Lidocaine")
    body = doctor_client.get(review_url(questionnaire)).content.decode()
    assert "Rash from rubber gloves" in body
    assert "Lidocaine" in body
    assert "4 answers to review" in body
    history = doctor_client.get(reverse("patients:medical_history", args=[questionnaire.patient.pk]))
    assert review_url(questionnaire) in history.content.decode()


def test_doctor_accepts_two_answers_into_the_history_as_reported_by_the_patient(doctor_client, doctor):
    questionnaire = SubmittedQuestionnaireFactory()
    SkinProfileFactory(patient=questionnaire.patient, recorded_by=doctor, fitzpatrick_type="IV", pregnancy="unknown")
    allergy = questionnaire.answers.get(section="allergy")
    pregnancy = questionnaire.answers.get(section="pregnancy")

    assert decide(doctor_client, allergy, "accept").status_code == 302
    assert decide(doctor_client, pregnancy, "accept").status_code == 302

    item = HistoryItem.objects.get(patient=questionnaire.patient)
    assert (item.category, item.code, item.name, item.details) == (
        "allergy",
        "latex",
        "Latex",
        "Rash from rubber gloves",
    )
    assert (item.source, item.reviewed_by, item.recorded_by) == (Source.PATIENT, doctor, doctor)
    profile = SkinProfile.objects.current().get(patient=questionnaire.patient)
    assert (profile.version, profile.pregnancy, profile.fitzpatrick_type) == (2, "no", "IV")
    assert (profile.source, profile.reviewed_by) == (Source.PATIENT, doctor)
    allergy.refresh_from_db()
    assert (allergy.decision, allergy.decided_by, allergy.history_item) == ("accepted", doctor, item)
    # The medication and the routine wait for the doctor: nothing else reached the record.
    assert set(questionnaire.answers.filter(decision="pending").values_list("section", flat=True)) == {
        "medication",
        "routine",
    }
    body = doctor_client.get(reverse("patients:medical_history", args=[questionnaire.patient.pk])).content.decode()
    assert "Reported by patient, reviewed by Ada Okafor" in body


def test_an_answer_is_decided_once(doctor_client, doctor):
    questionnaire = SubmittedQuestionnaireFactory()
    medication = questionnaire.answers.get(section="medication")
    decide(doctor_client, medication, "decline")
    response = decide(doctor_client, medication, "accept")
    assert response.status_code == 302
    assert not HistoryItem.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages[-1] == "This answer was already reviewed (not taken into the record)."


def test_a_bad_decision_changes_nothing(doctor_client):
    questionnaire = SubmittedQuestionnaireFactory()
    answer = questionnaire.answers.first()
    assert decide(doctor_client, answer, "maybe").status_code == 302
    answer.refresh_from_db()
    assert answer.is_pending
    assert not HistoryItem.objects.exists()


def test_an_answer_of_another_patient_is_not_found(doctor_client):
    questionnaire = SubmittedQuestionnaireFactory()
    other = SubmittedQuestionnaireFactory()
    url = reverse("intake:answer_decide", args=[questionnaire.patient.pk, other.answers.first().pk])
    assert doctor_client.post(url, {"decision": "accept"}).status_code == 404
    assert not HistoryItem.objects.exists()


def test_a_patient_reported_version_needs_a_reviewer_in_the_database(doctor):
    from django.db import IntegrityError, transaction

    item = HistoryItemFactory.build(recorded_by=doctor, source=Source.PATIENT, reviewed_by=None)
    item.patient.save()
    item.patient_id = item.patient.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        item.save()


def test_a_draft_questionnaire_has_no_review_page(doctor_client):
    questionnaire = IntakeQuestionnaireFactory()
    assert doctor_client.get(review_url(questionnaire)).status_code == 404


def test_accepting_a_skin_answer_keeps_what_the_patient_did_not_answer(doctor):
    questionnaire = SubmittedQuestionnaireFactory()
    SkinProfileFactory(patient=questionnaire.patient, recorded_by=doctor, routine_notes="Retinol at night")
    answer = questionnaire.answers.get(section="routine")
    assert answer.skin_values == {"cleanser": "Gentle foam", "sunscreen_use": "daily"}
    services.answer_accept(answer=answer, actor=Actor(user=doctor))
    profile = SkinProfile.objects.current().get(patient=questionnaire.patient)
    assert (profile.cleanser, profile.sunscreen_use, profile.source) == ("Gentle foam", "daily", Source.PATIENT)
    assert (profile.routine_notes, profile.version) == ("Retinol at night", 2)
