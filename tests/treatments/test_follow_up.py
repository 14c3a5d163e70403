"""The next-day skin check: the email the morning after a signed session, the patient's
answer through its signed link, and the task a concern makes for the doctor."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Actor
from clinic.localtime import local_datetime
from clinic.models import AuditEntry
from messaging.links import make_token
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from tests.factories import PatientFactory, SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, SignedSessionFactory, TreatmentSessionFactory
from treatments import services
from treatments.emails import FOLLOW_UP_ACTION
from treatments.models import FollowUpTask, SessionFollowUp

pytestmark = pytest.mark.django_db

# Tuesday 2 July 2030, 15:00 in London (BST: 14:00 UTC).
SESSION_TIME = datetime.datetime(2030, 7, 2, 14, 0, tzinfo=datetime.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(SESSION_TIME, tick=False) as traveller:
        yield traveller


def _sign_session(doctor, patient=None):
    plan = ActivePlanFactory(
        doctor=doctor, consultation__doctor=doctor, **({"consultation__patient": patient} if patient else {})
    )
    SkinProfileFactory(patient=plan.patient)
    actor = Actor(user=doctor)
    session = services.session_record(
        plan=plan,
        fields={"performed_at": timezone.now(), "technique": "meso_pen", "areas": ["forehead"]},
        usages=[],
        actor=actor,
    )
    return services.session_sign(session=session, actor=actor)


def _url(session) -> str:
    return reverse("treatments:public_follow_up", args=[make_token(FOLLOW_UP_ACTION, session.pk)])


@pytest.mark.usefixtures("frozen")
def test_signing_schedules_the_check_for_nine_the_next_morning(doctor):
    session = _sign_session(doctor)
    message = ScheduledMessage.objects.get(kind=ScheduledMessage.Kind.NEXT_DAY_CHECK)
    assert message.subject_ref == f"session:{session.pk}"
    assert message.due_at == local_datetime(datetime.date(2030, 7, 3), datetime.time(9, 0))
    assert message.status == ScheduledMessage.Status.PENDING


def test_a_session_signed_days_later_gets_no_check(doctor, frozen):
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    actor = Actor(user=doctor)
    session = services.session_record(
        plan=plan,
        fields={"performed_at": timezone.now(), "technique": "meso_pen", "areas": ["forehead"]},
        usages=[],
        actor=actor,
    )
    frozen.move_to(SESSION_TIME + datetime.timedelta(days=3))
    services.session_sign(session=session, actor=actor)
    assert not ScheduledMessage.objects.filter(kind=ScheduledMessage.Kind.NEXT_DAY_CHECK).exists()
    assert ScheduledMessage.objects.filter(kind=ScheduledMessage.Kind.AFTERCARE).exists()


def test_the_email_carries_a_link_that_answers(doctor, frozen):
    session = _sign_session(doctor)
    frozen.move_to(datetime.datetime(2030, 7, 3, 8, 30, tzinfo=datetime.UTC))  # 09:30 in London
    message = ScheduledMessage.objects.get(kind=ScheduledMessage.Kind.NEXT_DAY_CHECK)
    assert message_deliver(message.pk) == "sent"
    email = mail.outbox[-1]
    assert email.subject == "How is your skin this morning?"
    assert "fades within a day" in email.body
    assert _url(session) in email.body


def test_a_patient_without_reminder_consent_still_gets_the_check(doctor, frozen):
    # It is care after a treatment, not a marketing recall.
    session = _sign_session(doctor, patient=PatientFactory(reminder_emails_consent=False))
    frozen.move_to(datetime.datetime(2030, 7, 3, 8, 30, tzinfo=datetime.UTC))
    message = ScheduledMessage.objects.get(kind=ScheduledMessage.Kind.NEXT_DAY_CHECK, patient=session.patient)
    assert message_deliver(message.pk) == "sent"


def test_the_check_is_skipped_once_the_patient_answered(doctor):
    session = SignedSessionFactory(doctor=doctor)
    services.follow_up_answer(session=session, answer="all_fine")
    message = ScheduledMessage.objects.create(
        kind="next_day_check", patient=session.patient, subject_ref=f"session:{session.pk}",
        dedupe_key=f"session:{session.pk}:next_day_check", due_at=timezone.now(),
    )  # fmt: skip
    assert message_deliver(message.pk) == "cancelled"
    message.refresh_from_db()
    assert "already told us" in message.last_error


def test_opening_the_link_changes_nothing(client):
    session = SignedSessionFactory()
    response = client.get(_url(session))
    assert response.status_code == 200
    assert "How is your skin" in response.content.decode()
    assert not SessionFollowUp.objects.exists()


def test_all_fine_is_recorded_and_makes_no_task(client):
    session = SignedSessionFactory()
    response = client.post(_url(session), {"answer": "all_fine"})
    assert response.status_code == 200
    assert "glad all is well" in response.content.decode()
    follow_up = SessionFollowUp.objects.get(session=session)
    assert (follow_up.answer, follow_up.concern) == ("all_fine", "")
    assert not FollowUpTask.objects.exists()


def test_a_concern_makes_a_task_for_the_doctor_of_the_session(client, doctor):
    session = SignedSessionFactory(doctor=doctor)
    response = client.post(_url(session), {"answer": "concern", "concern": "  A large bruise on the left cheek.  "})
    assert response.status_code == 200
    assert "Your doctor will read your message" in response.content.decode()
    task = FollowUpTask.objects.get()
    assert (task.doctor, task.patient, task.follow_up.concern) == (
        doctor,
        session.patient,
        "A large bruise on the left cheek.",
    )
    assert AuditEntry.objects.filter(object_type="follow-up task", patient=session.patient).exists()


def test_a_second_answer_is_refused_and_the_first_stands(client):
    session = SignedSessionFactory()
    client.post(_url(session), {"answer": "concern", "concern": "Swelling"})
    response = client.post(_url(session), {"answer": "all_fine"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "You already told us" in body
    assert "that answer stands" in body
    assert "please call us" in body
    follow_up = SessionFollowUp.objects.get(session=session)
    assert (follow_up.answer, follow_up.concern) == ("concern", "Swelling")
    assert FollowUpTask.objects.count() == 1
    # Reopening the link says so too, without a form.
    assert "You already told us" in client.get(_url(session)).content.decode()


def test_the_service_refuses_a_second_answer():
    session = SignedSessionFactory()
    services.follow_up_answer(session=session, answer="all_fine")
    with pytest.raises(services.AlreadyAnswered):
        services.follow_up_answer(session=session, answer="concern", concern="x")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"answer": "concern", "concern": ""}, "Tell us what worries you."),
        ({"answer": "concern", "concern": "bruise\x00\x1b[31m"}, "control"),
        ({"answer": "concern", "concern": "x" * 1001}, "at most 1000 characters"),
        ({"answer": "maybe"}, "Select a valid choice"),
        ({}, "Choose one of the answers."),
    ],
)
def test_bad_answers_are_refused_with_a_reason(client, data, message):
    session = SignedSessionFactory()
    response = client.post(_url(session), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SessionFollowUp.objects.exists()


def test_a_concern_on_several_lines_is_accepted(client):
    session = SignedSessionFactory()
    client.post(_url(session), {"answer": "concern", "concern": "Bruise\r\nand a little swelling\tnear the eye"})
    assert "near the eye" in SessionFollowUp.objects.get().concern


def test_a_tampered_link_gets_a_friendly_page(client):
    session = SignedSessionFactory()
    response = client.post(_url(session).replace("/skin-check/", "/skin-check/x"), {"answer": "all_fine"})
    assert response.status_code == 400
    assert "This link cannot be used" in response.content.decode()
    assert not SessionFollowUp.objects.exists()


def test_an_expired_link_gets_a_friendly_page(client, settings):
    session = SignedSessionFactory()
    url = _url(session)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=settings.EMAIL_LINK_MAX_AGE_DAYS + 1)):
        response = client.post(url, {"answer": "all_fine"})
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not SessionFollowUp.objects.exists()


def test_a_link_made_for_another_action_is_refused(client):
    session = SignedSessionFactory()
    response = client.get(reverse("treatments:public_follow_up", args=[make_token("unsubscribe", session.pk)]))
    assert response.status_code == 400


def test_a_draft_session_cannot_be_answered(client):
    session = TreatmentSessionFactory()
    response = client.post(_url(session), {"answer": "all_fine"})
    assert response.status_code == 404
    assert not SessionFollowUp.objects.exists()


def test_the_doctor_sees_the_concern_at_home_and_on_the_patient_page_and_marks_it_done(client, doctor, other_doctor):
    session = SignedSessionFactory(doctor=doctor)
    services.follow_up_answer(session=session, answer="concern", concern="A bruise that is getting bigger")
    task = FollowUpTask.objects.get()
    client.force_login(doctor)
    home = client.get(reverse("home")).content.decode()
    assert "Concerns after a session" in home
    assert session.patient.last_name in home
    assert "getting bigger" not in home  # the words are on the patient's page (audited), not the home page
    patient_page = client.get(reverse("patients:detail", args=[session.patient.pk])).content.decode()
    assert "A bruise that is getting bigger" in patient_page
    assert "Mark done" in patient_page
    # Another doctor sees that there is one, not whose.
    client.force_login(other_doctor)
    assert "1 open concern of other doctors" in client.get(reverse("home")).content.decode()

    client.force_login(doctor)
    response = client.post(reverse("treatments:follow_up_task_done", args=[task.pk]))
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.is_done
    assert task.done_by == doctor
    assert "No open concern" in client.get(reverse("home")).content.decode()
    again = client.post(reverse("treatments:follow_up_task_done", args=[task.pk]), follow=True)
    assert "already done" in again.content.decode()


def test_a_receptionist_cannot_mark_a_concern_done(client, receptionist):
    session = SignedSessionFactory()
    services.follow_up_answer(session=session, answer="concern", concern="Bruise")
    task = FollowUpTask.objects.get()
    client.force_login(receptionist)
    assert client.post(reverse("treatments:follow_up_task_done", args=[task.pk])).status_code == 403
    task.refresh_from_db()
    assert not task.is_done
    assert "Bruise" not in client.get(reverse("patients:detail", args=[session.patient.pk])).content.decode()


def test_marking_done_is_post_only(client, doctor):
    client.force_login(doctor)
    assert client.get(reverse("treatments:follow_up_task_done", args=[1])).status_code == 405
