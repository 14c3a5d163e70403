"""Malformed and far-off input to the scheduling pages (issue 18): every value is a form error,
a 400 or a 404, never a 500, and a refused POST changes no row."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinic.localtime import day_bounds
from scheduling import selectors, services
from scheduling.models import Appointment, AppointmentChange, ClinicClosure, TimeOff, WaitlistEntry
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import AppointmentFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC

HUGE_ID = "7" * 100_000  # int() refuses it (over 4,300 digits) with ValueError
BAD_DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "01/07/2030", "tomorrow", HUGE_ID]
BAD_IDS = ["abc", "12a", "-3", "0", "１２", HUGE_ID, str(2**63), "1\x00"]


def at(hour: int, minute: int = 0, day: datetime.date = MONDAY) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def appointment(practitioner, patient):
    return AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=at(10)
    )


# Calendars ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_DATES)
@pytest.mark.parametrize("page", ["day", "rooms", "week"])
def test_calendar_with_a_bad_date_shows_today_with_the_reason(receptionist_client, practitioner, page, value):
    args = [practitioner.pk] if page == "week" else []
    response = receptionist_client.get(reverse(f"scheduling:{page}", args=args), {"date": value})
    assert response.status_code == 400
    body = response.content.decode()
    assert "The calendar date must be from 7 January 2020 to 7 January 2035." in body or "Enter a valid date." in body


@pytest.mark.parametrize("page", ["day", "rooms", "week"])
def test_calendar_browses_years_back_and_ahead(receptionist_client, practitioner, page):
    args = [practitioner.pk] if page == "week" else []
    for value in ("2020-01-07", "2035-01-07"):
        response = receptionist_client.get(reverse(f"scheduling:{page}", args=args), {"date": value})
        assert response.status_code == 200


@pytest.mark.parametrize("value", BAD_IDS)
def test_day_grid_move_mode_with_a_malformed_id_is_not_found(receptionist_client, value):
    response = receptionist_client.get(reverse("scheduling:day"), {"date": "2030-01-07", "move": value})
    assert response.status_code == 404


def test_week_of_an_appointment_stored_far_ahead_answers(receptionist_client, practitioner, patient):
    """Before the forms refused it, an appointment could be moved to 9999-12-30."""
    stored = AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=at(12))
    Appointment.objects.filter(pk=stored.pk).update(
        starts_at=datetime.datetime(9999, 12, 30, 12, tzinfo=UTC),
        ends_at=datetime.datetime(9999, 12, 30, 12, 30, tzinfo=UTC),
        blocked_until=datetime.datetime(9999, 12, 30, 12, 30, tzinfo=UTC),
    )
    week = reverse("scheduling:week", args=[practitioner.pk])
    assert receptionist_client.get(week, {"date": "9999-12-30"}).status_code == 400
    assert receptionist_client.get(week).status_code == 200
    assert receptionist_client.get(reverse("scheduling:appointment_move", args=[stored.pk])).status_code == 200
    assert receptionist_client.get(stored.get_absolute_url(), headers={"HX-Request": "true"}).status_code == 200


# Slot finder, booking, grid cells ----------------------------------------------------------


@pytest.mark.parametrize("value", BAD_IDS)
def test_slot_finder_with_a_malformed_patient_is_not_found(receptionist_client, value):
    assert receptionist_client.get(reverse("scheduling:find"), {"patient": value}).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"date_from": "9999-12-31", "date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},
        {"date_to": "2026-02-30"},
        {"practitioner": HUGE_ID},
        {"practitioner": str(2**63)},
        {"appointment_type": "abc"},
        {"patient": "abc"},
        {"shown": HUGE_ID},
    ],
)
def test_slot_finder_bad_search_is_a_form_error(receptionist_client, patient, practitioner, change):
    query = {
        "appointment_type": appointment_type().pk, "date_from": "2030-01-07", "date_to": "2030-01-14",
        "window": "lunch", **change,
    }  # fmt: skip
    response = receptionist_client.get(reverse("scheduling:find"), query)
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.context["form"].errors
        assert response.context["page"] is None


@pytest.mark.parametrize(
    "start",
    ["9999-12-31T12:00:00+00:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00", "2030-02-30T12:00+00:00"],
)
def test_booking_a_far_or_impossible_start_is_refused(receptionist_client, patient, practitioner, start):
    query = {
        "patient": patient.pk, "practitioner": practitioner.pk, "appointment_type": appointment_type().pk,
        "room": "", "start": start,
    }  # fmt: skip
    for method in (receptionist_client.get, receptionist_client.post):
        response = method(reverse("scheduling:book"), query)
        assert response.status_code == 400
    assert not Appointment.objects.exists()
    for name in ("book_choose_patient", "grid_book"):
        assert receptionist_client.get(reverse(f"scheduling:{name}"), query).status_code == 400


def test_booking_beyond_the_horizon_is_refused_by_the_service(patient, practitioner, receptionist):
    with pytest.raises(ValidationError, match="The appointment date must be from 7 January 2030 to 7 January 2032"):
        services.appointment_book(
            patient=patient, practitioner=practitioner, appointment_type=appointment_type(),
            starts_at=at(12, 0, datetime.date(2032, 1, 12)), booked_by=receptionist,
        )  # fmt: skip
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("value", BAD_IDS)
def test_book_with_a_malformed_patient_is_a_form_error(receptionist_client, practitioner, value):
    query = {
        "patient": value, "practitioner": practitioner.pk, "appointment_type": appointment_type().pk,
        "start": at(12).isoformat(),
    }  # fmt: skip
    assert receptionist_client.post(reverse("scheduling:book"), query).status_code == 400
    assert not Appointment.objects.exists()


# Moving -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"day": "9999-12-30", "at": "12:00"},
        {"day": "0001-01-01", "at": "00:00"},
        {"day": "2026-02-30", "at": "12:00"},
        {"day": "2032-01-08", "at": "12:00"},  # beyond the two years bookings go ahead
        {"day": "2030-03-31", "at": "01:30"},  # the clocks skip it
        {"day": "2030-01-08", "at": "12:00", "start": "9999-12-30T12:00:00+00:00"},
        {"day": "2030-01-08", "at": "12:00", "start": "0001-01-01T00:00:00+05:00"},
        {"day": "2030-01-08", "at": "12:00", "start": "2030-01-07T12:00"},  # no offset
    ],
)
def test_an_appointment_cannot_be_moved_to_an_impossible_time(doctor_client, appointment, practitioner, data):
    before = Appointment.objects.values().get(pk=appointment.pk)
    response = doctor_client.post(
        reverse("scheduling:appointment_move", args=[appointment.pk]), {"practitioner": practitioner.pk, **data}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Appointment.objects.values().get(pk=appointment.pk) == before
    assert not AppointmentChange.objects.filter(action=AppointmentChange.Action.MOVED).exists()


def test_the_move_service_refuses_9999_12_30(appointment, doctor):
    with pytest.raises(ValidationError, match="The appointment date must be from"):
        services.appointment_move(
            appointment=appointment, starts_at=datetime.datetime(9999, 12, 30, 12, tzinfo=UTC), moved_by=doctor
        )
    appointment.refresh_from_db()
    assert appointment.starts_at == at(10)


@pytest.mark.parametrize("value", ["9999-12-30T12:00:00+00:00", "0001-01-01T00:00:00+05:00", "x"])
def test_move_mode_with_a_bad_cell_shows_the_form(doctor_client, appointment, practitioner, value):
    url = reverse("scheduling:appointment_move", args=[appointment.pk])
    response = doctor_client.get(url, {"start": value, "practitioner": practitioner.pk})
    assert response.status_code == 200


# Course booking ---------------------------------------------------------------------------


@pytest.fixture
def plan(practitioner, patient):
    return ActivePlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient)


@pytest.mark.parametrize(
    "session",
    [
        "9999-12-31T12:00:00+00:00",
        "0001-01-01T00:00:00+05:00",
        f"{HUGE_ID}@2030-01-07T12:00:00+00:00",
        f"{2**63}@2030-01-07T12:00:00+00:00",
        "abc@2030-02-30T12:00:00+00:00",
        "2032-02-02T12:00:00+00:00",
    ],
)
def test_course_booking_refuses_bad_session_times(receptionist_client, plan, practitioner, session):
    url = reverse("scheduling:course_book", args=[plan.pk])
    data = {
        "practitioner": practitioner.pk, "appointment_type": appointment_type("Mesotherapy session").pk,
        "first_day": "2030-01-07", "at": "12:00", "session_1": session,
    }  # fmt: skip
    response = receptionist_client.post(url, data)
    assert response.status_code < 500
    if "@2030-01-07" in session:
        # A malformed room is no room: any free one is taken, as for a start alone.
        assert response.status_code == 302
        assert plan.appointments.count() == 1
    else:
        assert response.status_code == 200
        assert response.context["errors"]
        assert not plan.appointments.exists()


@pytest.mark.parametrize("first_day", ["9999-12-31", "0001-01-01", "2026-02-30", "2032-01-08"])
def test_course_proposal_for_a_far_first_day_is_a_form_error(receptionist_client, plan, practitioner, first_day):
    params = {
        "practitioner": practitioner.pk, "appointment_type": appointment_type("Mesotherapy session").pk,
        "first_day": first_day, "at": "12:00",
    }  # fmt: skip
    response = receptionist_client.get(reverse("scheduling:course_book", args=[plan.pk]), params)
    assert response.status_code == 200
    assert "first_day" in response.context["form"].errors


# Waiting list and calendar feed -----------------------------------------------------------


@pytest.mark.parametrize("value", BAD_IDS)
def test_waitlist_add_with_a_malformed_patient_is_not_found(receptionist_client, value):
    assert receptionist_client.get(reverse("scheduling:waitlist_add"), {"patient": value}).status_code == 404
    assert receptionist_client.post(reverse("scheduling:waitlist_add"), {"patient": value}).status_code == 404


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2026-02-30"])
def test_waitlist_far_dates_are_form_errors(receptionist_client, patient, field, value):
    data = {
        "patient": patient.pk, "appointment_type": appointment_type().pk, "date_from": "2030-01-07",
        "date_to": "2030-01-31", "window_start": "12:00", "window_end": "14:00", field: value,
    }  # fmt: skip
    response = receptionist_client.post(reverse("scheduling:waitlist_add"), data)
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


@pytest.mark.parametrize("token", ["abc\x00def", "x" * 65, "a b", "é" * 10, "../etc"])
def test_malformed_feed_token_is_not_found(client, practitioner, token):
    assert client.get(f"/scheduling/feed/{token}.ics").status_code == 404


def test_feed_token_still_opens_the_feed(client, practitioner):
    assert client.get(reverse("scheduling:feed", args=[practitioner.feed_token])).status_code == 200


# Reads at the ends of Python's calendar ---------------------------------------------------


@pytest.mark.parametrize("day", [datetime.date.min, datetime.date.max, datetime.date(9999, 12, 27)])
def test_calendar_reads_do_not_overflow_at_the_ends_of_the_calendar(practitioner, day):
    assert selectors.day_columns(day)
    assert selectors.week_days(practitioner, day)
    assert list(Appointment.objects.overlapping(*day_bounds(day))) == []


@pytest.mark.parametrize(
    "starts_at", [datetime.datetime(9999, 12, 30, tzinfo=UTC), datetime.datetime(1, 1, 1, tzinfo=UTC)]
)
def test_time_off_and_closures_stay_within_the_calendar(practitioner, starts_at):
    for period in (
        TimeOff(practitioner=practitioner, starts_at=starts_at, ends_at=starts_at + datetime.timedelta(hours=1)),
        ClinicClosure(starts_at=starts_at, ends_at=starts_at + datetime.timedelta(hours=1)),
    ):
        with pytest.raises(ValidationError) as refused:
            period.full_clean()
        assert "starts_at" in refused.value.message_dict
    TimeOff(practitioner=practitioner, starts_at=at(12), ends_at=at(13)).full_clean()
