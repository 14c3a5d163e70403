"""The outbox under faults, without a worker: no broker in the request, one Message-ID per
row whatever the attempt, permanent SMTP refusals fail at once, reclaims are counted."""

import datetime
import select

import psycopg2
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clinic.localtime import local_datetime
from messaging import services
from messaging.models import ScheduledMessage
from messaging.smtp import EmailBackend
from scheduling import services as scheduling
from tests.factories import PatientFactory, ReceptionistFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.messaging.realworld import SmtpSink
from tests.scheduling.factories import PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory

Status = ScheduledMessage.Status


def _weekday(days_ahead: int) -> datetime.date:
    day = timezone.localdate() + datetime.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


@pytest.fixture
def listener_connection(transactional_db):
    """A LISTEN on the outbox channel, as a worker's listener holds one."""
    listen = psycopg2.connect(**connection.get_connection_params())
    listen.autocommit = True
    with listen.cursor() as cursor:
        cursor.execute(f"LISTEN {services.NOTIFY_CHANNEL}")
    yield listen
    listen.close()


def _notifications(listen) -> int:
    select.select([listen], [], [], 0.5)
    listen.poll()
    count = len(listen.notifies)
    listen.notifies.clear()
    return count


@pytest.mark.django_db(transaction=True)
def test_a_booking_and_a_course_never_touch_a_hung_broker(frozen_broker, listener_connection):
    practitioner = PractitionerFactory(default_room=RoomFactory())
    booked_by = ReceptionistFactory()
    scheduling.appointment_book(
        patient=PatientFactory(),
        practitioner=practitioner,
        appointment_type=appointment_type("Mesotherapy session"),
        starts_at=local_datetime(_weekday(3), datetime.time(12)),
        booked_by=booked_by,
    )
    assert _notifications(listener_connection) == 1

    plan = ActivePlanFactory(session_count=6)
    first = _weekday(14)
    course = scheduling.course_book(
        plan=plan,
        practitioner=practitioner,
        appointment_type=appointment_type("Mesotherapy session"),
        sessions=[
            (number, local_datetime(first + datetime.timedelta(weeks=number - 1), datetime.time(12, 30)), None)
            for number in range(1, 7)
        ],
        booked_by=booked_by,
    )
    assert len(course) == 6
    assert ScheduledMessage.objects.filter(kind="booking_confirmation", status=Status.PENDING).count() == 1
    assert ScheduledMessage.objects.filter(kind="course_confirmation", status=Status.PENDING).count() == 1
    assert _notifications(listener_connection) == 1  # one nudge for the whole course
    assert frozen_broker.connections == []  # nothing in the request went near the broker


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_booking_wakes_nobody(listener_connection):
    from django.db import transaction

    patient = PatientFactory()

    def book_then_fail():
        with transaction.atomic():
            services.message_schedule(
                kind="aftercare", patient=patient, due_at=timezone.now(), dedupe_key="x", send_now=True
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):
        book_then_fail()
    assert _notifications(listener_connection) == 0


@pytest.mark.django_db
def test_every_attempt_of_a_row_carries_the_same_message_id(settings):
    message = ScheduledMessageFactory()
    first = services.build_email(message, services.EmailContent())
    second = services.build_email(ScheduledMessage.objects.get(pk=message.pk), services.EmailContent())
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"] == message.message_id
    assert message.message_id != ScheduledMessageFactory().message_id
    settings.SITE_URL = "https://other-clinic.example"
    assert message.message_id != first.extra_headers["Message-ID"]


@pytest.fixture
def sink(settings):
    with SmtpSink() as smtp:
        settings.EMAIL_BACKEND = "messaging.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        yield smtp


@pytest.mark.django_db
def test_the_mail_servers_reply_is_recorded(sink):
    message = ScheduledMessageFactory()
    assert services.message_deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert message.provider_response.startswith("250 ")
    assert sink.handler.message_ids() == [message.provider_message_id] == [message.message_id]


@pytest.mark.django_db
def test_a_permanent_refusal_fails_at_once(sink):
    sink.handler.refuse_permanently = True
    message = ScheduledMessageFactory()
    assert services.message_deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, 1)
    assert "550" in message.last_error
    assert "550" in message.provider_response


@pytest.mark.django_db
def test_a_temporary_refusal_is_tried_again_later(sink):
    sink.handler.refuse_next = 1
    message = ScheduledMessageFactory()
    assert services.message_deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == Status.PENDING
    assert message.due_at > timezone.now()
    assert "451" in message.last_error


@pytest.mark.django_db
def test_a_reclaimed_row_is_counted_and_shown_as_possibly_sent_twice(manager_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = ScheduledMessageFactory()
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.MESSAGE_SENDING_TIMEOUT_SECONDS + 1)
    ScheduledMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, claimed_at=long_ago, attempts=1)
    assert services.messages_claim_due() == [message.pk]
    message.refresh_from_db()
    assert (message.status, message.reclaims) == (Status.PENDING, 1)
    assert "same Message-ID" in message.last_error
    assert services.message_deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert message.possibly_sent_twice
    page = manager_client.get(reverse("messaging:communications")).content.decode()
    assert "Possibly sent twice" in page


def test_smtp_backend_reports_no_reply_before_sending():
    assert EmailBackend(host="127.0.0.1", port=1).last_reply == ""


@pytest.mark.django_db
def test_a_batch_goes_over_one_smtp_connection(sink):
    messages = ScheduledMessageFactory.create_batch(6)
    assert services.messages_deliver([message.pk for message in messages]) == {"sent": 6}
    assert len(sink.handler.messages) == 6
    assert len(sink.handler.sessions) == 1
    assert sorted(sink.handler.message_ids()) == sorted(message.message_id for message in messages)


@pytest.mark.django_db
def test_a_failure_in_a_batch_does_not_stop_the_rest(sink):
    messages = ScheduledMessageFactory.create_batch(4)
    sink.handler.refuse_next = 1  # the first one is refused for now
    outcomes = services.messages_deliver([message.pk for message in messages])
    assert outcomes == {"retry": 1, "sent": 3}
    assert len(sink.handler.messages) == 3
    assert ScheduledMessage.objects.filter(status=Status.PENDING).count() == 1
