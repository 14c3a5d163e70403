import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from messaging.models import ScheduledMessage
from scheduling import services
from scheduling.models import Appointment, AppointmentChange
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY, NOW
from tests.scheduling.factories import (
    AppointmentFactory,
    ClinicClosureFactory,
    PractitionerFactory,
    TimeOffFactory,
    appointment_type,
)
from tests.treatments.factories import ActivePlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC
Kind = ScheduledMessage.Kind
Status = Appointment.Status


def at(hour: int, minute: int = 0, day: datetime.date = MONDAY) -> datetime.datetime:
    # January: London is on GMT, so local time and UTC are the same.
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def book(patient, practitioner, starts_at, *, type_name="Consultation", **kwargs):
    return services.appointment_book(
        patient=patient,
        practitioner=practitioner,
        appointment_type=appointment_type(type_name),
        starts_at=starts_at,
        booked_by=practitioner.user,
        **kwargs,
    )


def refusal(callable_, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        callable_(*args, **kwargs)
    return " ".join(caught.value.messages)


def test_booking_writes_history_and_outbox_rows(patient, practitioner, room):
    appointment = book(patient, practitioner, at(12, 30, MONDAY + datetime.timedelta(days=2)))
    assert appointment.room == room
    assert appointment.ends_at - appointment.starts_at == datetime.timedelta(minutes=30)
    assert appointment.status == Status.BOOKED
    assert list(appointment.changes.values_list("action", flat=True)) == [AppointmentChange.Action.BOOKED]
    rows = {m.kind: m for m in ScheduledMessage.objects.filter(subject_ref=f"appointment:{appointment.pk}")}
    # A consultation also asks the patient for the intake questionnaire.
    assert set(rows) == {Kind.BOOKING_CONFIRMATION, Kind.APPOINTMENT_REMINDER, Kind.INTAKE_QUESTIONNAIRE}
    assert rows[Kind.BOOKING_CONFIRMATION].due_at == NOW
    assert rows[Kind.INTAKE_QUESTIONNAIRE].due_at == NOW
    assert rows[Kind.APPOINTMENT_REMINDER].due_at == appointment.starts_at - datetime.timedelta(hours=24)


def test_no_reminder_when_booked_inside_the_reminder_window(patient, practitioner):
    appointment = book(patient, practitioner, at(15))
    kinds = set(ScheduledMessage.objects.filter(subject_ref=appointment.subject_ref).values_list("kind", flat=True))
    assert kinds == {Kind.BOOKING_CONFIRMATION, Kind.INTAKE_QUESTIONNAIRE}


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (at(7, 30), "outside Ada Okafor's working hours on Mondays (09:00-18:00)"),
        (at(17, 45), "outside Ada Okafor's working hours"),
        (at(10, 0, MONDAY + datetime.timedelta(days=5)), "does not work on Saturdays"),
        (at(7, 0, MONDAY - datetime.timedelta(days=3)), "in the past"),
    ],
)
def test_refusals_say_why(patient, practitioner, starts_at, message):
    assert message in refusal(book, patient, practitioner, starts_at)


def test_end_before_start_is_refused(patient, practitioner):
    assert "The end must be after the start." in refusal(book, patient, practitioner, at(10), ends_at=at(9, 30))


def test_time_off_and_closure_are_refused(patient, practitioner):
    TimeOffFactory(practitioner=practitioner, starts_at=at(9), ends_at=at(11), reason="Conference")
    assert "Ada Okafor is away then (Conference)." in refusal(book, patient, practitioner, at(10))
    tuesday = MONDAY + datetime.timedelta(days=1)
    ClinicClosureFactory(starts_at=at(0, 0, tuesday), ends_at=at(23, 59, tuesday), reason="Staff training")
    assert "The clinic is closed then (Staff training)." in refusal(book, patient, practitioner, at(10, 0, tuesday))


def test_overlaps_are_refused_and_back_to_back_is_allowed(patient, practitioner, other_practitioner, room):
    book(patient, practitioner, at(10))
    assert "Ada Okafor already has an appointment" in refusal(book, PatientFactory(), practitioner, at(10, 15))
    assert "The patient already has an appointment" in refusal(book, patient, other_practitioner, at(10, 15))
    assert "The room Room 1 is already booked" in refusal(
        book, PatientFactory(), other_practitioner, at(10, 15), room=room
    )
    back_to_back = book(PatientFactory(), practitioner, at(10, 30))
    assert back_to_back.starts_at == at(10, 30)


def test_buffer_keeps_the_practitioner_busy(patient, practitioner):
    book(patient, practitioner, at(10), type_name="Mesotherapy session")  # 45 min + 15 min buffer
    assert "already has an appointment" in refusal(book, PatientFactory(), practitioner, at(10, 45))
    assert book(PatientFactory(), practitioner, at(11)).starts_at == at(11)


def test_lost_race_becomes_slot_taken_with_alternatives(patient, practitioner, monkeypatch):
    """The exclusion constraint has the last word when the friendly checks saw nothing."""
    book(patient, practitioner, at(12, 30))
    monkeypatch.setattr(
        services, "_availability_errors", lambda appointment, **kw: ([], appointment.practitioner.default_room)
    )
    with transaction.atomic():
        with pytest.raises(services.SlotTaken) as caught:
            book(PatientFactory(), practitioner, at(12, 30))
        # The outer transaction survived the failed insert.
        assert Appointment.objects.count() == 1
    assert "This slot was just taken." in caught.value.messages[0]
    assert caught.value.alternatives
    assert all(slot.starts_at != at(12, 30) for slot in caught.value.alternatives)


def test_move_rekeys_the_reminder_and_keeps_history(patient, practitioner):
    appointment = book(patient, practitioner, at(10, 0, MONDAY + datetime.timedelta(days=3)))
    services.appointment_confirm(appointment=appointment)
    old_reminder = ScheduledMessage.objects.get(kind=Kind.APPOINTMENT_REMINDER)
    ScheduledMessage.objects.filter(pk=old_reminder.pk).update(status=ScheduledMessage.Status.SENT, sent_at=NOW)
    new_start = at(11, 0, MONDAY + datetime.timedelta(days=4))
    moved = services.appointment_move(appointment=appointment, starts_at=new_start, moved_by=practitioner.user)
    assert moved.starts_at == new_start
    assert moved.status == Status.BOOKED  # a moved appointment is confirmed again
    reminders = ScheduledMessage.objects.filter(kind=Kind.APPOINTMENT_REMINDER).order_by("id")
    assert [(r.status, r.due_at) for r in reminders] == [
        (ScheduledMessage.Status.SENT, old_reminder.due_at),
        (ScheduledMessage.Status.PENDING, new_start - datetime.timedelta(hours=24)),
    ]
    assert ScheduledMessage.objects.filter(kind=Kind.BOOKING_CONFIRMATION).count() == 2
    change = moved.changes.get(action=AppointmentChange.Action.MOVED)
    assert (change.old_starts_at, change.new_starts_at) == (at(10, 0, MONDAY + datetime.timedelta(days=3)), new_start)


def test_move_cancels_a_pending_reminder_for_the_old_time(patient, practitioner):
    appointment = book(patient, practitioner, at(10, 0, MONDAY + datetime.timedelta(days=3)))
    services.appointment_move(appointment=appointment, starts_at=at(16), moved_by=practitioner.user)
    statuses = list(ScheduledMessage.objects.filter(kind=Kind.APPOINTMENT_REMINDER).values_list("status", flat=True))
    assert statuses == [ScheduledMessage.Status.CANCELLED]  # the new time is inside the window


def test_move_refusal_says_why(patient, practitioner):
    appointment = book(patient, practitioner, at(10))
    book(PatientFactory(), practitioner, at(14))
    assert "already has an appointment" in refusal(
        services.appointment_move, appointment=appointment, starts_at=at(14, 15), moved_by=practitioner.user
    )


def test_moving_onto_another_appointment_offers_free_times(patient, practitioner):
    appointment = book(patient, practitioner, at(10))
    book(PatientFactory(), practitioner, at(14))
    with pytest.raises(services.SlotTaken) as refused:
        services.appointment_move(appointment=appointment, starts_at=at(14, 15), moved_by=practitioner.user)
    message = refused.value.messages[0]
    assert message.startswith("Ada Okafor already has an appointment at this time.")
    assert "just taken" not in message  # a time typed for a move was not taken in a race
    assert refused.value.alternatives


def test_moving_to_the_time_it_has_is_refused_and_recorded_nowhere(patient, practitioner):
    appointment = book(patient, practitioner, at(10))
    assert "The appointment is already at this time." in refusal(
        services.appointment_move, appointment=appointment, starts_at=at(10), moved_by=practitioner.user
    )
    assert list(appointment.changes.values_list("action", flat=True)) == [AppointmentChange.Action.BOOKED]


def test_moving_into_a_room_that_is_taken_offers_free_times(patient, practitioner, other_practitioner, room2):
    appointment = book(patient, practitioner, at(10))
    book(PatientFactory(), other_practitioner, at(14))  # in Ben Marsh's own room, Room 2
    with pytest.raises(services.SlotTaken) as refused:
        services.appointment_move(appointment=appointment, starts_at=at(14), room=room2, moved_by=practitioner.user)
    assert refused.value.reasons == ["The room Room 2 is already booked at this time."]
    assert refused.value.alternatives
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.room) == (at(10), practitioner.default_room)


def test_cancel_frees_the_slot_and_cancels_pending_messages(patient, practitioner):
    appointment = book(patient, practitioner, at(10, 0, MONDAY + datetime.timedelta(days=2)))
    assert "Give the reason" in refusal(
        services.appointment_cancel, appointment=appointment, reason=" ", cancelled_by=practitioner.user
    )
    services.appointment_cancel(appointment=appointment, reason="Patient is ill", cancelled_by=practitioner.user)
    booking_rows = ScheduledMessage.objects.exclude(kind=ScheduledMessage.Kind.APPOINTMENT_CANCELLED)
    assert set(booking_rows.values_list("status", flat=True)) == {ScheduledMessage.Status.CANCELLED}
    notice = ScheduledMessage.objects.get(kind=ScheduledMessage.Kind.APPOINTMENT_CANCELLED)
    assert notice.status == ScheduledMessage.Status.PENDING
    assert "already cancelled" in refusal(
        services.appointment_cancel, appointment=appointment, reason="again", cancelled_by=practitioner.user
    )
    again = book(PatientFactory(), practitioner, at(10, 0, MONDAY + datetime.timedelta(days=2)))
    assert again.pk != appointment.pk


def test_status_changes(patient, practitioner, frozen_now):
    appointment = book(patient, practitioner, at(9))
    assert "before it starts" in refusal(
        services.appointment_complete, appointment=appointment, completed_by=practitioner.user
    )
    services.appointment_check_in(appointment=appointment, checked_in_by=practitioner.user)
    frozen_now.move_to(at(9, 40))
    done = services.appointment_complete(appointment=appointment, completed_by=practitioner.user)
    assert done.status == Status.COMPLETED
    assert "cannot be marked no-show" in refusal(
        services.appointment_mark_no_show, appointment=done, marked_by=practitioner.user
    )
    assert list(done.changes.values_list("to_status", flat=True)) == ["booked", "arrived", "completed"]


def test_check_in_only_on_the_day(patient, practitioner):
    appointment = book(patient, practitioner, at(9, 0, MONDAY + datetime.timedelta(days=1)))
    assert "on the day" in refusal(
        services.appointment_check_in, appointment=appointment, checked_in_by=practitioner.user
    )


def test_no_show_cancels_the_reminder_and_schedules_the_follow_up(patient, practitioner, frozen_now):
    appointment = book(patient, practitioner, at(10))
    frozen_now.move_to(at(10, 30))
    services.appointment_mark_no_show(appointment=appointment, marked_by=practitioner.user)
    follow_up = ScheduledMessage.objects.get(kind=Kind.NO_SHOW_FOLLOW_UP)
    assert (follow_up.status, follow_up.due_at) == (ScheduledMessage.Status.PENDING, at(10, 30))


def test_completing_a_course_session_schedules_the_next_session_reminder(practitioner, frozen_now):
    plan = ActivePlanFactory(doctor=practitioner.user, session_count=4)
    first = book(plan.patient, practitioner, at(10), plan=plan, plan_session_number=1)
    second = book(
        plan.patient, practitioner, at(10, 0, MONDAY + datetime.timedelta(days=7)), plan=plan, plan_session_number=2
    )
    frozen_now.move_to(at(11))
    services.appointment_complete(appointment=first, completed_by=practitioner.user)
    row = ScheduledMessage.objects.get(kind=Kind.NEXT_SESSION_REMINDER)
    assert row.subject_ref == second.subject_ref
    assert row.due_at == at(10, 0, MONDAY + datetime.timedelta(days=1))  # next day, 10:00 local


def test_course_booking_is_all_or_nothing_and_lists_every_conflict(practitioner):
    plan = ActivePlanFactory(doctor=practitioner.user, session_count=4)
    mesotherapy = appointment_type("Mesotherapy session")
    week = datetime.timedelta(days=7)
    AppointmentFactory(practitioner=practitioner, starts_at=at(12, 30, MONDAY + week), appointment_type=mesotherapy)
    AppointmentFactory(practitioner=practitioner, starts_at=at(12, 30, MONDAY + 3 * week), appointment_type=mesotherapy)
    sessions = [(n + 1, at(12, 30, MONDAY + n * week), None) for n in range(4)]
    message = refusal(
        services.course_book, plan=plan, practitioner=practitioner, appointment_type=mesotherapy,
        sessions=sessions, booked_by=practitioner.user,
    )  # fmt: skip
    assert "Session 2" in message
    assert "Session 4" in message
    assert "already has an appointment at this time" in message
    assert "Choose one of the free times below" not in message  # the course page proposes again
    assert not plan.appointments.exists()
    assert not ScheduledMessage.objects.exists()
    free = [
        (1, at(12, 30)),
        (2, at(14, 0, MONDAY + week)),
        (3, at(12, 30, MONDAY + 2 * week)),
        (4, at(15, 0, MONDAY + 3 * week)),
    ]
    booked = services.course_book(
        plan=plan, practitioner=practitioner, appointment_type=mesotherapy,
        sessions=[(n, s, None) for n, s in free], booked_by=practitioner.user,
    )  # fmt: skip
    assert [a.plan_session_number for a in booked] == [1, 2, 3, 4]


def test_inactive_practitioner_is_refused(patient):
    practitioner = PractitionerFactory(is_active=False)
    assert "does not take appointments" in refusal(book, patient, practitioner, at(10))
