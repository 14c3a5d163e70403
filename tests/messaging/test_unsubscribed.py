"""A patient who unsubscribed: their pending emails are closed as such, new ones are closed at
once, and staff are told why ("will not be sent: unsubscribed"), not "Pending" or "No consent"."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging import services
from messaging.links import make_token
from messaging.models import UNSUBSCRIBED, ScheduledMessage
from tests.factories import PatientFactory
from tests.messaging.factories import ScheduledMessageFactory

pytestmark = pytest.mark.django_db
Status = ScheduledMessage.Status
Kind = ScheduledMessage.Kind


def later(days: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


def test_unsubscribing_closes_the_pending_emails_and_only_those(client):
    patient = PatientFactory(reminder_emails_consent=True)
    pending = [ScheduledMessageFactory(patient=patient, due_at=later(n)) for n in range(1, 8)]
    sent = ScheduledMessageFactory(patient=patient, status=Status.SENT, sent_at=timezone.now())
    someone_else = ScheduledMessageFactory(due_at=later(1))
    url = reverse("messaging:unsubscribe", args=[make_token("unsubscribe", patient.pk)])
    client.post(url)
    for message in pending:
        message.refresh_from_db()
        assert (message.status, message.last_error) == (Status.CANCELLED, UNSUBSCRIBED)
        assert message.closed_as_unsubscribed
    sent.refresh_from_db()
    someone_else.refresh_from_db()
    assert sent.status == Status.SENT
    assert someone_else.status == Status.PENDING


def test_a_message_for_an_unsubscribed_patient_is_closed_when_written():
    patient = PatientFactory(email_unsubscribed_at=timezone.now())
    message = services.message_schedule(
        kind=Kind.APPOINTMENT_REMINDER, patient=patient, due_at=later(2), dedupe_key="appointment:1:reminder"
    )
    assert (message.status, message.last_error) == (Status.CANCELLED, UNSUBSCRIBED)


def test_staff_see_will_not_be_sent_and_the_contact_panel_says_unsubscribed(client, manager, receptionist):
    patient = PatientFactory(reminder_emails_consent=True)
    closed = ScheduledMessageFactory(patient=patient, due_at=later(1))
    # A row still pending from before (e.g. written by an older release) reads the same.
    still_pending = ScheduledMessageFactory(patient=patient, due_at=later(2), kind=Kind.APPOINTMENT_REMINDER)
    services.patient_unsubscribe(patient=patient)
    ScheduledMessage.objects.filter(pk=still_pending.pk).update(status=Status.PENDING, last_error="")
    client.force_login(manager)
    page = client.get(reverse("messaging:communications")).content.decode()
    assert page.count("Will not be sent: unsubscribed") == 2
    assert "◷ Pending" not in page
    client.force_login(receptionist)
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Unsubscribed from all emails" in detail
    assert "No consent" not in detail
    assert detail.count("Will not be sent: unsubscribed") == 2
    closed.refresh_from_db()
    assert closed.status == Status.CANCELLED


def test_unsubscribing_twice_changes_nothing():
    patient = PatientFactory()
    assert services.patient_unsubscribe(patient=patient) is True
    ScheduledMessageFactory(patient=patient, due_at=later(1), status=Status.FAILED)
    assert services.patient_unsubscribe(patient=patient) is False
    assert ScheduledMessage.objects.get().status == Status.FAILED
