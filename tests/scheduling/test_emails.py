"""Appointment emails through the outbox: which rows exist, what is sent, and the links."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from messaging import links
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from scheduling import services
from scheduling.emails import CANCEL_ACTION, CONFIRM_ACTION
from scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY, NOW
from tests.scheduling.factories import appointment_type

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
Kind = ScheduledMessage.Kind
Status = ScheduledMessage.Status


def at(hour: int, minute: int = 0, days: int = 0) -> datetime.datetime:
    day = MONDAY + datetime.timedelta(days=days)
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def booked(frozen_now, patient, practitioner):
    return services.appointment_book(
        patient=patient, practitioner=practitioner, appointment_type=appointment_type(), starts_at=at(12, 30, days=3),
        booked_by=practitioner.user,
    )  # fmt: skip


def row(kind: str) -> ScheduledMessage:
    return ScheduledMessage.objects.get(kind=kind)


def test_confirmation_is_sent_with_calendar_file_and_links(booked):
    assert message_deliver(row(Kind.BOOKING_CONFIRMATION).pk) == "sent"
    email = mail.outbox[0]
    assert email.subject == "Your appointment on 10 January at 12:30 is booked"
    assert "Thursday 10 January 2030, 12:30 (GMT)" in email.body
    assert "Ada Okafor" in email.body
    filename, payload, mimetype = email.attachments[0]
    assert (filename, mimetype) == (f"appointment-{booked.pk}.ics", "text/calendar")
    assert "DTSTART:20300110T123000Z" in (payload.decode() if isinstance(payload, bytes) else payload)
    assert "/scheduling/email/confirm/" in email.body
    assert "/scheduling/email/cancel/" in email.body


def test_nothing_is_sent_for_a_cancelled_appointment(booked, practitioner):
    services.appointment_cancel(appointment=booked, reason="Ill", cancelled_by=practitioner.user)
    booking_rows = ScheduledMessage.objects.exclude(kind=Kind.APPOINTMENT_CANCELLED)
    assert set(booking_rows.values_list("status", flat=True)) == {Status.CANCELLED}
    # Even a row that escaped cancellation is skipped by the builder when it is sent.
    booking_rows.update(status=Status.PENDING, due_at=NOW)
    for message in booking_rows:
        assert message_deliver(message.pk) == "cancelled"
    assert mail.outbox == []
    # The confirmation, the reminder and the consultation's intake questionnaire.
    assert ScheduledMessage.objects.filter(last_error="The appointment was cancelled.").count() == 3


def test_a_reminder_for_an_old_time_is_skipped_after_a_move(booked, practitioner, frozen_now):
    old_reminder = row(Kind.APPOINTMENT_REMINDER)
    services.appointment_move(appointment=booked, starts_at=at(13, 0, days=4), moved_by=practitioner.user)
    ScheduledMessage.objects.filter(pk=old_reminder.pk).update(status=Status.PENDING)  # as if missed by the move
    frozen_now.move_to(old_reminder.due_at)
    assert message_deliver(old_reminder.pk) == "cancelled"
    new_reminder = ScheduledMessage.objects.get(kind=Kind.APPOINTMENT_REMINDER, status=Status.PENDING)
    assert new_reminder.due_at == at(13, 0, days=3)
    frozen_now.move_to(new_reminder.due_at)
    assert message_deliver(new_reminder.pk) == "sent"
    assert "Friday 11 January" in mail.outbox[-1].subject


def test_moved_confirmation_says_it_moved(booked, practitioner):
    services.appointment_move(appointment=booked, starts_at=at(13, 0, days=4), moved_by=practitioner.user)
    moved = ScheduledMessage.objects.get(
        kind=Kind.BOOKING_CONFIRMATION, dedupe_key__endswith=str(int(at(13, 0, days=4).timestamp()))
    )
    assert message_deliver(moved.pk) == "sent"
    assert mail.outbox[0].subject == "Your appointment has moved to 11 January at 13:00"


def test_no_show_follow_up_is_sent_without_links(booked, practitioner, frozen_now):
    frozen_now.move_to(at(13, 0, days=3))
    services.appointment_mark_no_show(appointment=booked, marked_by=practitioner.user)
    assert message_deliver(row(Kind.NO_SHOW_FOLLOW_UP).pk) == "sent"
    email = mail.outbox[0]
    assert email.subject == "We missed you today"
    assert "/scheduling/email/cancel/" not in email.body
    assert row(Kind.APPOINTMENT_REMINDER).status == Status.CANCELLED


def test_a_dst_reminder_is_24_real_hours_before_and_shown_in_local_time(patient, practitioner):
    from scheduling.models import WorkingHours

    WorkingHours.objects.create(
        practitioner=practitioner, weekday=6, starts_at=datetime.time(9), ends_at=datetime.time(18)
    )
    sunday_1230_bst = datetime.datetime(2030, 3, 31, 11, 30, tzinfo=UTC)
    with time_machine.travel(datetime.datetime(2030, 3, 20, tzinfo=UTC), tick=False) as clock:
        appointment = services.appointment_book(
            patient=patient, practitioner=practitioner, appointment_type=appointment_type(), starts_at=sunday_1230_bst,
            booked_by=None,
        )  # fmt: skip
        reminder = row(Kind.APPOINTMENT_REMINDER)
        assert reminder.due_at == datetime.datetime(2030, 3, 30, 11, 30, tzinfo=UTC)  # 11:30 GMT on Saturday
        clock.move_to(reminder.due_at)
        assert message_deliver(reminder.pk) == "sent"
    assert "Sunday 31 March 2030, 12:30 (BST)" in mail.outbox[0].body
    assert appointment.pk


def _link(email, action: str) -> str:
    return re.search(rf"http://[^\s]+/scheduling/email/{action}/[^\s]+/", email.body).group(0).split("8000", 1)[1]


def test_cancel_link_cancels_once(client, booked):
    message_deliver(row(Kind.BOOKING_CONFIRMATION).pk)
    url = _link(mail.outbox[0], "cancel")
    page = client.get(url)
    assert "Cancel this appointment" in page.content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED  # opening the link changes nothing
    assert "Your appointment is cancelled" in client.post(url).content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED
    assert row(Kind.APPOINTMENT_REMINDER).status == Status.CANCELLED
    assert "already cancelled" in client.post(url).content.decode()
    assert booked.changes.filter(action="cancelled").count() == 1


def test_cancel_link_respects_the_cutoff(client, booked, frozen_now, settings):
    settings.APPOINTMENT_CANCEL_CUTOFF_HOURS = 24
    url = reverse("scheduling:public_cancel", args=[links.make_token(CANCEL_ACTION, booked.pk)])
    frozen_now.move_to(booked.starts_at - datetime.timedelta(hours=23))
    body = client.post(url).content.decode()
    assert "too late to cancel online" in body
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_confirm_link(client, booked):
    url = reverse("scheduling:public_confirm", args=[links.make_token(CONFIRM_ACTION, booked.pk)])
    assert "Confirm I am coming" in client.get(url).content.decode()
    assert "your appointment is confirmed" in client.post(url).content.decode()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CONFIRMED
    assert "already confirmed" in client.get(url).content.decode()


@pytest.mark.usefixtures("frozen_now")
def test_tampered_wrong_action_and_expired_links_are_refused(client, booked, frozen_now):
    token = links.make_token(CANCEL_ACTION, booked.pk)
    tampered = client.get(reverse("scheduling:public_cancel", args=[token[:-2] + "xx"]))
    assert tampered.status_code == 400
    assert "not valid" in tampered.content.decode()
    wrong_action = client.get(reverse("scheduling:public_confirm", args=[token]))
    assert wrong_action.status_code == 400
    frozen_now.shift(datetime.timedelta(days=61))
    expired = client.get(reverse("scheduling:public_cancel", args=[token]))
    assert expired.status_code == 400
    assert "expired" in expired.content.decode()
    missing = client.get(reverse("scheduling:public_cancel", args=[links.make_token(CANCEL_ACTION, 999999)]))
    assert missing.status_code == 404


def test_next_session_reminder_is_sent_and_skipped_when_the_session_is_close(practitioner, frozen_now):
    from tests.treatments.factories import ActivePlanFactory

    plan = ActivePlanFactory(doctor=practitioner.user, session_count=4)
    book = services.appointment_book
    first = book(
        patient=plan.patient, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        starts_at=at(10), booked_by=None, plan=plan, plan_session_number=1,
    )  # fmt: skip
    second = book(
        patient=plan.patient, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        starts_at=at(10, days=7), booked_by=None, plan=plan, plan_session_number=2,
    )  # fmt: skip
    frozen_now.move_to(at(11))
    services.appointment_complete(appointment=first, completed_by=None)
    reminder = row(Kind.NEXT_SESSION_REMINDER)
    frozen_now.move_to(reminder.due_at)
    assert message_deliver(reminder.pk) == "sent"
    email = mail.outbox[-1]
    assert email.subject == "Your next mesotherapy session: Monday 14 January at 10:00"
    assert "session 2 of 4" in email.body
    # Had the session been moved to within a day, the normal reminder would cover it.
    ScheduledMessage.objects.filter(pk=reminder.pk).update(status=Status.PENDING)
    services.appointment_move(appointment=second, starts_at=at(15, days=1), moved_by=None)
    assert message_deliver(reminder.pk) == "cancelled"
