"""Batch delivery without a worker: each row of a mixed batch ends in its own state, the
queries do not grow with the batch beyond one statement per message, and a worker that dies
mid-batch leaves only the message it was sending in doubt."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import services
from messaging.emails import register_builder
from messaging.models import UNSUBSCRIBED, ScheduledMessage
from scheduling.services import reminder_key
from tests.factories import PatientFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
Status = ScheduledMessage.Status
Kind = ScheduledMessage.Kind


class WorkerKilled(BaseException):
    """Stands for the worker process dying: nothing in the batch may catch it."""


class ScriptedConnection:
    """A mail connection that refuses some recipients for good (550), drops the connection on
    others (a temporary failure), dies on one, and takes the rest."""

    def __init__(self, *, refuse=(), drop=(), die_on=None):
        self.refuse, self.drop, self.die_on = set(refuse), set(drop), die_on

    def send_messages(self, messages):
        for message in messages:
            recipient = message.to[0]
            if recipient == self.die_on:
                raise WorkerKilled
            if recipient in self.refuse:
                raise smtplib.SMTPRecipientsRefused({recipient: (550, b"5.1.1 No such mailbox")})
            if recipient in self.drop:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            mail.outbox.append(message)
        return len(messages)


@register_builder("test_batch_skip")
def _skips(message):
    from messaging.emails import EmailContent

    return EmailContent(skip="The appointment was cancelled.")


@register_builder("test_batch_broken")
def _breaks(message):
    raise LookupError("the builder has a bug")


def _state(message: ScheduledMessage) -> tuple[str, int]:
    message.refresh_from_db()
    return message.status, message.attempts


def test_each_message_of_a_mixed_batch_ends_in_its_own_state(settings):
    settings.MESSAGE_RETRY_BACKOFF_SECONDS = 60
    sent = ScheduledMessageFactory()
    skipped = ScheduledMessageFactory(kind="test_batch_skip")
    unsubscribed = ScheduledMessageFactory(patient=PatientFactory(email_unsubscribed_at=timezone.now()))
    broken = ScheduledMessageFactory(kind="test_batch_broken")
    refused = ScheduledMessageFactory()
    dropped = ScheduledMessageFactory()
    also_sent = ScheduledMessageFactory()
    not_due = ScheduledMessageFactory(due_at=timezone.now() + datetime.timedelta(hours=1))
    elsewhere = ScheduledMessageFactory(status=Status.SENT, sent_at=timezone.now())  # another worker had it
    batch = [sent, skipped, unsubscribed, broken, refused, dropped, also_sent, not_due, elsewhere]
    scripted = ScriptedConnection(refuse=[refused.patient.email], drop=[dropped.patient.email])

    outcomes = services.messages_deliver([message.pk for message in batch], connection=scripted)

    assert outcomes == {"sent": 2, "cancelled": 2, "retry": 2, "failed": 1, "skipped": 2}
    assert sorted(email.to[0] for email in mail.outbox) == sorted([sent.patient.email, also_sent.patient.email])
    for message in (sent, also_sent):
        assert _state(message) == (Status.SENT, 1)
        assert message.provider_message_id == message.message_id
        assert message.recipient == message.patient.email
        assert message.provider_response
    assert _state(skipped)[0] == Status.CANCELLED
    assert skipped.last_error == "The appointment was cancelled."
    assert _state(unsubscribed)[0] == Status.CANCELLED
    assert unsubscribed.last_error == UNSUBSCRIBED
    assert _state(broken) == (Status.PENDING, 1)  # tried again later, failed after the last attempt
    assert "LookupError" in broken.last_error
    assert broken.due_at > timezone.now()
    assert _state(refused) == (Status.FAILED, 1)  # a 5xx fails at once
    assert "550" in refused.last_error
    assert _state(dropped) == (Status.PENDING, 1)
    assert "SMTPServerDisconnected" in dropped.last_error
    assert _state(not_due) == (Status.PENDING, 0)
    assert _state(elsewhere) == (Status.SENT, 0)


def test_a_builder_that_keeps_failing_fails_the_message_after_the_last_attempt(settings):
    settings.MESSAGE_MAX_ATTEMPTS = 2
    broken = ScheduledMessageFactory(kind="test_batch_broken")
    assert services.message_deliver(broken.pk) == "retry"
    ScheduledMessage.objects.filter(pk=broken.pk).update(due_at=timezone.now())
    assert services.message_deliver(broken.pk) == "failed"
    assert _state(broken) == (Status.FAILED, 2)


def test_a_worker_dying_mid_batch_leaves_only_the_message_it_was_sending_in_doubt():
    messages = ScheduledMessageFactory.create_batch(6)
    dying = ScriptedConnection(die_on=messages[3].patient.email)
    with pytest.raises(WorkerKilled):
        services.messages_deliver([message.pk for message in messages], connection=dying)
    states = [_state(message) for message in messages]
    # Accepted before: marked sent. Being sent: in doubt (reclaimed later, counted). Never
    # reached: still pending, not claimed, not "possibly sent twice" when they go.
    assert states == [(Status.SENT, 1)] * 3 + [(Status.SENDING, 1)] + [(Status.PENDING, 0)] * 2


def _reminders(count: int) -> list[int]:
    """Due reminders of ``count`` upcoming appointments, as the benchmark sends them."""
    ids = []
    for appointment in AppointmentFactory.create_batch(count):
        ids.append(
            ScheduledMessageFactory(
                kind=Kind.APPOINTMENT_REMINDER,
                patient=appointment.patient,
                subject_ref=appointment.subject_ref,
                dedupe_key=reminder_key(appointment),
            ).pk
        )
    return ids


def _queries_to_deliver(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert services.messages_deliver(ids) == {"sent": len(ids)}
    return len(queries)


def test_a_batch_of_reminders_costs_one_statement_per_message_and_a_few_for_the_batch(
    settings, django_assert_max_num_queries
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    small, large = _reminders(5), _reminders(50)
    # Loading the rows, their patients and appointments (with what the emails show) is done
    # once per batch; each message then costs the one statement that claims it (and marks the
    # one before it sent).
    assert _queries_to_deliver(large) - _queries_to_deliver(small) == 45
    mail.outbox.clear()
    more = _reminders(50)
    with django_assert_max_num_queries(50 + 6):
        services.messages_deliver(more)
    assert len(mail.outbox) == 50
    calendars = [email.attachments[0] for email in mail.outbox]
    assert all(mimetype == "text/calendar" for _, _, mimetype in calendars)
    assert ScheduledMessage.objects.filter(pk__in=more, status=Status.SENT).count() == 50


def _aftercare(count: int) -> list[int]:
    from tests.treatments.factories import SignedSessionFactory

    ids = []
    for session in SignedSessionFactory.create_batch(count):
        message = ScheduledMessageFactory(kind=Kind.AFTERCARE, patient=session.patient, subject_ref=session.subject_ref)
        ids.append(message.pk)
    return ids


def test_a_batch_of_aftercare_emails_reads_its_sessions_at_once(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    small, large = _aftercare(3), _aftercare(12)
    assert _queries_to_deliver(large) - _queries_to_deliver(small) == 9
    assert "This was session" in mail.outbox[-1].body
