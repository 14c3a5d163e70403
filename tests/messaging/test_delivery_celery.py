"""Delivery with the real thing: a Celery worker process, a Redis server and an SMTP sink on
loopback. The test process plays Celery beat by calling the dispatch service."""

import datetime
import re
import threading

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from clinic.localtime import local_datetime
from messaging import services
from messaging.models import ScheduledMessage
from messaging.tasks import deliver_message
from scheduling import services as scheduling
from tests.factories import PatientFactory, ReceptionistFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.messaging.realworld import wait_for
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
Status = ScheduledMessage.Status


def _statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in ScheduledMessage.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def _dispatch_until_all_sent(total: int, *, timeout: float = 60) -> None:
    def all_sent() -> bool:
        services.messages_claim_due()
        return ScheduledMessage.objects.filter(status=Status.SENT).count() == total

    wait_for(all_sent, timeout=timeout, what=f"{total} messages to be sent (now {_statuses()})")


def _book(patient, *, days_ahead: int, hour: int = 12):
    """A real booking through the scheduling service, on a weekday lunchtime."""
    day = timezone.localdate() + datetime.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    practitioner = PractitionerFactory(default_room=RoomFactory())
    return scheduling.appointment_book(
        patient=patient,
        practitioner=practitioner,
        appointment_type=appointment_type("Mesotherapy session"),
        starts_at=local_datetime(day, datetime.time(hour)),
        booked_by=ReceptionistFactory(),
    )


def test_a_due_reminder_is_delivered_once(start_worker, smtp_sink):
    appointment = _book(PatientFactory(), days_ahead=3)
    reminder = ScheduledMessage.objects.get(subject_ref=appointment.subject_ref, kind="appointment_reminder")
    ScheduledMessage.objects.filter(subject_ref=appointment.subject_ref).exclude(pk=reminder.pk).delete()
    ScheduledMessage.objects.filter(pk=reminder.pk).update(due_at=timezone.now())  # its day has come
    start_worker()
    _dispatch_until_all_sent(1)
    reminder.refresh_from_db()
    assert smtp_sink.handler.message_ids() == [reminder.provider_message_id]
    email = smtp_sink.handler.messages[0]
    assert email["To"] == appointment.patient.email
    assert "reminder" in email["Subject"].lower()
    calendars = [part for part in email.walk() if part.get_content_type() == "text/calendar"]
    assert b"BEGIN:VCALENDAR" in calendars[0].get_payload(decode=True)


def test_the_same_id_handled_twice_sends_one_email(start_worker, smtp_sink):
    message = ScheduledMessageFactory()
    start_worker()
    for _ in range(2):
        deliver_message.apply_async(args=[message.pk])
    wait_for(lambda: ScheduledMessage.objects.get(pk=message.pk).status == Status.SENT, what="the message")
    deliver_message.apply_async(args=[message.pk])
    # A fourth, later delivery task is the marker that the three before it were handled.
    marker = ScheduledMessageFactory()
    deliver_message.apply_async(args=[marker.pk])
    wait_for(lambda: len(smtp_sink.handler.messages) == 2, what="the marker message")
    # The mail server has the marker a moment before its row says so: wait for the row.
    wait_for(lambda: ScheduledMessage.objects.filter(status=Status.SENT).count() == 2, what="both rows sent")
    assert sorted(smtp_sink.handler.message_ids()) == sorted(
        ScheduledMessage.objects.values_list("provider_message_id", flat=True)
    )


def test_smtp_failing_twice_then_recovering_sends_exactly_one(start_worker, smtp_sink, settings):
    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 0
    smtp_sink.handler.refuse_next = 2
    message = ScheduledMessageFactory()
    start_worker()
    _dispatch_until_all_sent(1)
    message.refresh_from_db()
    assert message.attempts == 3
    assert len(smtp_sink.handler.messages) == 1


def test_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(start_worker, smtp_sink, settings):
    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 0
    settings.MESSAGE_SENDING_TIMEOUT_SECONDS = 1
    ScheduledMessageFactory.create_batch(40)
    smtp_sink.handler.hold_at = 15  # the worker dies while talking to SMTP about the 15th
    worker = start_worker()
    services.messages_claim_due()
    wait_for(smtp_sink.handler.holding.is_set, what="the batch to be under way")
    worker.kill()
    # 14 accepted before the hold; with both pool processes sending (the listener and this
    # dispatch each hand the batch over), the other connection may have finished one more.
    assert 14 <= len(smtp_sink.handler.messages) <= 15
    assert ScheduledMessage.objects.filter(status=Status.SENDING).exists()
    smtp_sink.handler.release.set()

    start_worker()
    _dispatch_until_all_sent(40)
    ids = smtp_sink.handler.message_ids()
    assert len(ids) == len(set(ids)) == 40


def test_two_workers_and_two_beats_by_mistake_send_each_message_once(start_worker, smtp_sink):
    ScheduledMessageFactory.create_batch(60)
    start_worker()
    start_worker()
    claimed: list[list[int]] = [[], []]

    def beat(number: int) -> None:
        try:
            for _ in range(20):
                claimed[number].extend(services.messages_claim_due(limit=10))
        finally:
            connection.close()

    beats = [threading.Thread(target=beat, args=(number,)) for number in range(2)]
    for thread in beats:
        thread.start()
    for thread in beats:
        thread.join()
    assert not set(claimed[0]) & set(claimed[1])  # SKIP LOCKED: no row handed out by both
    _dispatch_until_all_sent(60)
    ids = smtp_sink.handler.message_ids()
    assert len(ids) == len(set(ids)) == 60


def test_messages_of_bookings_made_while_redis_is_down_go_out_once_it_is_back(start_worker, redis_server, smtp_sink):
    redis_server.stop()
    appointments = [_book(patient, days_ahead=7) for patient in PatientFactory.create_batch(5)]
    assert all(appointment.pk for appointment in appointments)  # every booking succeeded
    confirmations = ScheduledMessage.objects.filter(kind="booking_confirmation")
    assert confirmations.filter(status=Status.PENDING).count() == 5
    redis_server.start()
    start_worker()
    _dispatch_until_all_sent(5)
    assert sorted(smtp_sink.handler.message_ids()) == sorted(
        confirmations.values_list("provider_message_id", flat=True)
    )
    recipients = sorted(message["To"] for message in smtp_sink.handler.messages)
    assert recipients == sorted(appointment.patient.email for appointment in appointments)
    # The reminders wait in the outbox for their day.
    assert ScheduledMessage.objects.filter(kind="appointment_reminder", status=Status.PENDING).count() == 5


def test_the_worker_sends_a_booking_confirmation_with_no_dispatch_and_no_broker_in_the_request(
    start_worker, smtp_sink, frozen_broker
):
    start_worker()
    appointment = _book(PatientFactory(), days_ahead=3)  # its confirmation is due now
    confirmation = ScheduledMessage.objects.get(subject_ref=appointment.subject_ref, kind="booking_confirmation")
    # The mail server has it a moment before the row says so: wait for the row.
    wait_for(
        lambda: ScheduledMessage.objects.get(pk=confirmation.pk).status == Status.SENT,
        what="the confirmation (via LISTEN/NOTIFY)",
    )
    assert smtp_sink.handler.message_ids() == [confirmation.message_id]
    assert frozen_broker.connections == []  # the test process (the web side) never called the broker


def test_a_permanent_smtp_refusal_fails_after_one_attempt(start_worker, smtp_sink):
    smtp_sink.handler.refuse_permanently = True
    message = ScheduledMessageFactory()
    start_worker()
    services.messages_claim_due()
    wait_for(lambda: ScheduledMessage.objects.get(pk=message.pk).status == Status.FAILED, what="the failure")
    message.refresh_from_db()
    assert message.attempts == 1
    assert "550" in message.last_error
    assert smtp_sink.handler.messages == []


def _blocked_update_pid() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND query ILIKE 'UPDATE \"messaging_scheduledmessage\"%%'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def test_a_worker_killed_after_the_server_accepted_sends_the_same_email_again(start_worker, smtp_sink, settings):
    message = ScheduledMessageFactory()
    smtp_sink.handler.hold_at = 1
    worker = start_worker()
    services.messages_claim_due()
    wait_for(smtp_sink.handler.holding.is_set, what="the worker to be sending")  # the row is SENDING
    # Hold the row so that the worker stops between the server's "250" and marking it sent.
    locker = psycopg2.connect(**connection.get_connection_params())
    try:
        with locker.cursor() as cursor:
            cursor.execute("SELECT id FROM messaging_scheduledmessage WHERE id = %s FOR UPDATE", [message.pk])
        smtp_sink.handler.release.set()
        wait_for(lambda: len(smtp_sink.handler.messages) == 1, what="the server to accept the message")
        wait_for(lambda: _blocked_update_pid() is not None, what="the worker to try to mark it sent")
        pid = _blocked_update_pid()
        worker.kill()
        with connection.cursor() as cursor:  # its connection dies with it
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        locker.rollback()
        locker.close()
    assert ScheduledMessage.objects.get(pk=message.pk).status == Status.SENDING

    # The sending timeout passes (the row's claim is older than it) ...
    ScheduledMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - datetime.timedelta(hours=1))
    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 0
    start_worker()
    _dispatch_until_all_sent(1)
    message.refresh_from_db()
    assert smtp_sink.handler.message_ids() == [message.message_id, message.message_id]
    assert message.reclaims == 1
    assert message.possibly_sent_twice


def test_the_worker_reconnects_to_redis_within_seconds(start_worker, redis_server, smtp_sink, settings):
    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 0
    worker = start_worker()
    redis_server.stop()
    wait_for(lambda: worker.log_text().count("Trying again") >= 3, what="the worker to notice Redis is gone")
    redis_server.start()
    message = ScheduledMessageFactory()
    _dispatch_until_all_sent(1)
    waits = [float(seconds) for seconds in re.findall(r"Trying again in ([0-9.]+) seconds?", worker.log_text())]
    assert waits, worker.log_text()[-2000:]
    assert max(waits) <= settings.CELERY_BROKER_RECONNECT_MAX_SECONDS
    assert smtp_sink.handler.message_ids() == [ScheduledMessage.objects.get(pk=message.pk).message_id]
