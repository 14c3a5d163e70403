import datetime

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from messaging import services
from messaging.emails import EmailContent, register_builder
from messaging.links import make_token
from messaging.models import ScheduledMessage
from tests.factories import PatientFactory
from tests.messaging.factories import ScheduledMessageFactory

pytestmark = pytest.mark.django_db
Status = ScheduledMessage.Status
Kind = ScheduledMessage.Kind


def test_schedule_is_unique_per_key_and_moves_a_pending_message():
    patient = PatientFactory()
    first = timezone.now() + datetime.timedelta(days=2)
    later = first + datetime.timedelta(days=1)
    message = services.message_schedule(kind=Kind.AFTERCARE, patient=patient, due_at=first, dedupe_key="a:1:aftercare")
    again = services.message_schedule(kind=Kind.AFTERCARE, patient=patient, due_at=later, dedupe_key="a:1:aftercare")
    assert again.pk == message.pk
    assert ScheduledMessage.objects.get().due_at == later


def test_a_sent_message_is_not_sent_again_when_rescheduled():
    message = ScheduledMessageFactory(status=Status.SENT, sent_at=timezone.now())
    services.message_schedule(
        kind=message.kind, patient=message.patient, due_at=timezone.now(), dedupe_key=message.dedupe_key
    )
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_cancel_touches_only_pending_messages():
    pending = ScheduledMessageFactory(subject_ref="appointment:1")
    sent = ScheduledMessageFactory(subject_ref="appointment:1", status=Status.SENT, sent_at=timezone.now())
    assert services.messages_cancel(subject_ref="appointment:1", reason="Appointment cancelled") == 1
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert (pending.status, sent.status) == (Status.CANCELLED, Status.SENT)


def test_deliver_sends_once_and_records_the_result():
    message = ScheduledMessageFactory(kind=Kind.AFTERCARE)
    assert services.message_deliver(message.pk) == "sent"
    assert services.message_deliver(message.pk) == "skipped"
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [message.patient.email]
    assert "fade within a day" in email.body
    assert email.alternatives[0].mimetype == "text/html"
    assert "Unsubscribe" in email.body
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_message_id == email.extra_headers["Message-ID"]
    assert message.attempts == 1


def test_text_email_is_not_html_escaped():
    message = ScheduledMessageFactory(kind=Kind.AFTERCARE, patient=PatientFactory(first_name="D'Arcy"))
    services.message_deliver(message.pk)
    assert "Dear D'Arcy," in mail.outbox[0].body


def test_not_due_message_is_not_sent():
    message = ScheduledMessageFactory(due_at=timezone.now() + datetime.timedelta(hours=1))
    assert services.message_deliver(message.pk) == "skipped"
    assert mail.outbox == []


def test_unsubscribed_patient_gets_nothing():
    message = ScheduledMessageFactory(patient=PatientFactory(email_unsubscribed_at=timezone.now()))
    assert services.message_deliver(message.pk) == "cancelled"
    assert mail.outbox == []


def test_recall_needs_consent_but_appointment_emails_do_not():
    patient = PatientFactory(reminder_emails_consent=False)
    recall = ScheduledMessageFactory(patient=patient, kind=Kind.MAINTENANCE_RECALL)
    aftercare = ScheduledMessageFactory(patient=patient, kind=Kind.AFTERCARE)
    assert services.message_deliver(recall.pk) == "cancelled"
    assert services.message_deliver(aftercare.pk) == "sent"
    recall.refresh_from_db()
    assert "consented" in recall.last_error


def test_builder_can_skip_a_message_that_no_longer_applies():
    register_builder("test_skip")(lambda message: EmailContent(skip="The appointment was cancelled."))
    message = ScheduledMessageFactory(kind="test_skip")
    assert services.message_deliver(message.pk) == "cancelled"


class FailingConnection:
    def __init__(self, failures):
        self.failures = failures

    def send_messages(self, messages):
        import smtplib

        if self.failures > 0:
            self.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        mail.outbox.extend(messages)
        return len(messages)


def test_smtp_errors_back_off_then_fail_after_the_last_attempt(settings):
    settings.MESSAGE_MAX_ATTEMPTS = 3
    settings.MESSAGE_RETRY_BACKOFF_SECONDS = 60
    message = ScheduledMessageFactory()
    connection = FailingConnection(failures=10)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert services.message_deliver(message.pk, connection=connection) == "retry"
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.due_at == start + datetime.timedelta(seconds=60)
    assert "SMTPServerDisconnected" in message.last_error
    with time_machine.travel(start + datetime.timedelta(seconds=61), tick=False):
        assert services.message_deliver(message.pk, connection=connection) == "retry"
    message.refresh_from_db()
    assert message.due_at == start + datetime.timedelta(seconds=61 + 120)
    with time_machine.travel(start + datetime.timedelta(seconds=200), tick=False):
        assert services.message_deliver(message.pk, connection=connection) == "failed"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, 3)


def test_claim_takes_due_rows_once_and_hands_over_again_after_a_while(settings, django_capture_on_commit_callbacks):
    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 300
    due = ScheduledMessageFactory.create_batch(3)
    ScheduledMessageFactory(due_at=timezone.now() + datetime.timedelta(hours=2))
    now = timezone.now()
    with django_capture_on_commit_callbacks() as callbacks:
        ids = services.messages_claim_due(now=now)
    assert sorted(ids) == sorted(m.pk for m in due)
    assert len(callbacks) == 1
    assert services.messages_claim_due(now=now + datetime.timedelta(seconds=10)) == []
    assert len(services.messages_claim_due(now=now + datetime.timedelta(seconds=301))) == 3


def test_claim_gives_back_rows_of_a_worker_that_died_while_sending(settings):
    settings.MESSAGE_SENDING_TIMEOUT_SECONDS = 600
    stuck = ScheduledMessageFactory(status=Status.SENDING)
    busy = ScheduledMessageFactory(status=Status.SENDING)
    now = timezone.now()
    ScheduledMessage.objects.filter(pk=stuck.pk).update(claimed_at=now - datetime.timedelta(minutes=11))
    ScheduledMessage.objects.filter(pk=busy.pk).update(claimed_at=now - datetime.timedelta(minutes=1))
    assert services.messages_claim_due(now=now) == [stuck.pk]
    busy.refresh_from_db()
    assert busy.status == Status.SENDING


def test_broker_down_keeps_messages_pending(redis_server, transactional_db):
    redis_server.stop()
    patient = PatientFactory()
    with transaction.atomic():
        message = services.message_schedule(
            kind=Kind.AFTERCARE, patient=patient, due_at=timezone.now(), dedupe_key="x", send_now=True
        )
    message.refresh_from_db()
    assert (message.status, message.enqueued_at) == (Status.PENDING, None)


def test_unsubscribe_link_asks_then_unsubscribes(client):
    patient = PatientFactory(reminder_emails_consent=True)
    url = reverse("messaging:unsubscribe", args=[make_token("unsubscribe", patient.pk)])
    assert "Do you want to stop" in client.get(url).content.decode()
    patient.refresh_from_db()
    assert patient.email_unsubscribed_at is None
    assert "You are unsubscribed" in client.post(url).content.decode()
    patient.refresh_from_db()
    assert patient.email_unsubscribed_at is not None
    assert patient.reminder_emails_consent is False
    assert "already unsubscribed" in client.post(url).content.decode()


def test_tampered_link_is_refused_with_a_clear_page(client):
    patient = PatientFactory()
    token = make_token("unsubscribe", patient.pk)
    response = client.get(reverse("messaging:unsubscribe", args=[token[:-3] + "abc"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_expired_link_is_refused(client, settings):
    settings.EMAIL_LINK_MAX_AGE_DAYS = 30
    patient = PatientFactory()
    with time_machine.travel(timezone.now() - datetime.timedelta(days=31)):
        token = make_token("unsubscribe", patient.pk)
    response = client.get(reverse("messaging:unsubscribe", args=[token]))
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_link_for_another_action_is_refused(client):
    token = make_token("cancel", PatientFactory().pk)
    assert client.get(reverse("messaging:unsubscribe", args=[token])).status_code == 400


def test_communications_page_is_for_managers(receptionist_client):
    assert receptionist_client.get(reverse("messaging:communications")).status_code == 403


def test_communications_page_filters_and_retries(manager_client):
    failed = ScheduledMessageFactory(status=Status.FAILED, last_error="SMTPDataError: 554", kind=Kind.AFTERCARE)
    ScheduledMessageFactory(kind=Kind.MAINTENANCE_RECALL)
    url = reverse("messaging:communications")
    page = manager_client.get(url, {"status": "failed"}).context["page"]
    assert list(page) == [failed]
    assert "SMTPDataError" in manager_client.get(url).content.decode()
    assert manager_client.get(reverse("messaging:retry", args=[failed.pk])).status_code == 405
    response = manager_client.post(reverse("messaging:retry", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.PENDING, 0)


def test_retry_only_returns_to_pages_of_this_site(manager_client):
    failed = ScheduledMessageFactory(status=Status.FAILED, kind=Kind.AFTERCARE)
    url = reverse("messaging:retry", args=[failed.pk])
    response = manager_client.post(url, {"next": "https://evil.example/phish"})
    assert response["Location"] == reverse("messaging:communications")
    failed.refresh_from_db()
    failed.status = Status.FAILED
    failed.save()
    response = manager_client.post(url, {"next": "/patients/"})
    assert response["Location"] == "/patients/"


def test_bad_communications_filter_is_a_form_error(manager_client):
    response = manager_client.get(reverse("messaging:communications"), {"day": "31/31/2026"})
    assert "day" in response.context["form"].errors


def test_patient_page_lists_messages(receptionist_client, django_assert_max_num_queries):
    message = ScheduledMessageFactory(kind=Kind.AFTERCARE)
    ScheduledMessageFactory.create_batch(10, patient=message.patient)
    with django_assert_max_num_queries(12):
        response = receptionist_client.get(reverse("patients:detail", args=[message.patient.pk]))
    assert "Aftercare advice" in response.content.decode()
