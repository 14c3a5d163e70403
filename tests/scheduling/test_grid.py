"""The calendars as time grids: the day (a column per practitioner), the week, the rooms; free
time that books where it is clicked, moving on the grid, and the front desk's landing page."""

import datetime
import re

import pytest
from django.urls import reverse

from clinic.models import AuditEntry
from scheduling import grid
from scheduling.models import Appointment
from scheduling.services import SLOT_TAKEN
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import (
    AppointmentFactory,
    ClinicClosureFactory,
    PractitionerFactory,
    TimeOffFactory,
    appointment_type,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC
DAY_URL = reverse("scheduling:day") + "?date=2030-01-07"
PANEL = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{DAY_URL}"}


def at(hour: int, minute: int = 0, day: datetime.date = MONDAY) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def appointment(practitioner, patient):
    return AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=at(10)
    )


def free_cell(body: str, practitioner, hour: int, minute: int = 0) -> str:
    start = f"{at(hour, minute):%Y-%m-%dT%H:%M:%SZ}"
    match = re.search(rf'href="([^"]*practitioner={practitioner.pk}&amp;start={re.escape(start)}[^"]*)"', body)
    assert match, f"no free cell at {hour}:{minute:02d}"
    return match.group(1).replace("&amp;", "&")


def test_day_grid_places_appointments_on_the_time_axis(receptionist_client, appointment, other_practitioner):
    body = receptionist_client.get(DAY_URL).content.decode()
    # Working hours 09:00-18:00: the axis starts at 09:00 (row 1); 10:00-10:30 is rows 13-18.
    card = re.search(rf'<a class="grid-appt grid-st-booked gr-13 gs-6" href="{appointment.get_absolute_url()}"', body)
    assert card, "the appointment is not placed at 10:00 for 30 minutes"
    assert "10:00–10:30" in body
    assert "Room 1" in body  # the room on the appointment
    # One column per working practitioner, free time in 15-minute cells around the appointment.
    assert body.count('<section class="grid-col') == 2
    free_cell(body, appointment.practitioner, 9, 45)
    free_cell(body, appointment.practitioner, 10, 30)
    assert f"practitioner={appointment.practitioner.pk}&amp;start={at(10, 15):%Y-%m-%dT%H:%M:%SZ}" not in body
    # Lunchtime (12:00-14:00) is shaded, on the axis and in the free cells.
    assert re.search(r'class="grid-free gr-37 gs-3 grid-lunch"', body)
    assert "grid-mark gr-37 gs-3 grid-hour grid-lunch" in body
    assert ' style="' not in body  # the Content-Security-Policy allows no inline style


def test_free_time_before_now_and_outside_hours_cannot_be_booked(receptionist_client, practitioner):
    # Now is 08:00, before the working day: 09:00 is free; the evening after 18:00 is not there.
    body = receptionist_client.get(DAY_URL).content.decode()
    free_cell(body, practitioner, 9)
    assert f"start={at(18):%Y-%m-%dT%H:%M:%SZ}" not in body
    yesterday = receptionist_client.get(reverse("scheduling:day") + "?date=2030-01-04").content.decode()
    assert "/grid/book/" not in yesterday  # the past is not bookable


def test_time_off_is_not_free(receptionist_client, practitioner):
    TimeOffFactory(practitioner=practitioner, starts_at=at(14), ends_at=at(16))
    body = receptionist_client.get(DAY_URL).content.decode()
    free_cell(body, practitioner, 13, 45)
    assert f"start={at(14, 30):%Y-%m-%dT%H:%M:%SZ}" not in body
    free_cell(body, practitioner, 16)


def test_a_clinic_closure_is_not_free_in_any_column(receptionist_client, practitioner, other_practitioner):
    ClinicClosureFactory(starts_at=at(15), ends_at=at(18), reason="Staff training")
    body = receptionist_client.get(DAY_URL).content.decode()
    for someone in (practitioner, other_practitioner):
        free_cell(body, someone, 14, 45)
        assert f"practitioner={someone.pk}&amp;start={at(15):%Y-%m-%dT%H:%M:%SZ}" not in body


def test_free_cell_opens_the_booking_panel_with_the_type_that_fits(receptionist_client, practitioner, patient):
    AppointmentFactory(practitioner=practitioner, starts_at=at(9, 30))
    body = receptionist_client.get(DAY_URL).content.decode()
    link = free_cell(body, practitioner, 9)  # 30 minutes free until the appointment at 09:30
    assert "free=30" in link
    panel = receptionist_client.get(link, headers=PANEL)
    assert "<html" not in panel.content.decode()
    consultation = appointment_type("Consultation")
    assert panel.context["chosen_type"] == consultation  # 30 min fits; the 45 min session does not
    found = receptionist_client.get(link + "&q=Doe", headers=PANEL).content.decode()
    assert f'value="{patient.pk}"' in found
    assert AuditEntry.objects.filter(action="search").exists()


def test_preselected_type_is_the_longest_that_fits():
    types = [appointment_type("Review"), appointment_type("Consultation"), appointment_type("Mesotherapy session")]
    assert grid.preselected_type(types, 15).name == "Review"
    assert grid.preselected_type(types, 40).name == "Consultation"
    assert grid.preselected_type(types, 240).name == "Mesotherapy session"
    assert grid.preselected_type(types, 10).name == "Review"  # nothing fits: the shortest


def test_booking_from_the_grid_returns_to_the_grid(receptionist_client, practitioner, patient):
    body = receptionist_client.get(DAY_URL).content.decode()
    link = free_cell(body, practitioner, 11)
    panel = receptionist_client.get(link + "&q=Doe", headers=PANEL)
    form = {
        "patient": patient.pk, "practitioner": practitioner.pk, "start": panel.context["start_iso"],
        "appointment_type": panel.context["chosen_type"].pk, "room": "", "notes": "", "next": DAY_URL,
    }  # fmt: skip
    response = receptionist_client.post(reverse("scheduling:book"), form)
    assert response.status_code == 302
    assert response.url == DAY_URL
    booked = Appointment.objects.get()
    assert booked.starts_at == at(11)
    assert booked.room == practitioner.default_room
    # The cell is taken now: the same booking again gets the service's "just taken" answer.
    form["patient"] = PatientFactory().pk
    again = receptionist_client.post(reverse("scheduling:book"), form)
    assert SLOT_TAKEN in again.content.decode()
    assert Appointment.objects.count() == 1


def test_grid_booking_panel_bad_input_names_the_problem(receptionist_client, practitioner):
    url = reverse("scheduling:grid_book") + f"?practitioner={practitioner.pk}&start=yesterday"
    response = receptionist_client.get(url)
    assert response.status_code == 400
    assert "The slot&#x27;s time is not valid" in response.content.decode()


def test_move_mode_offers_free_cells_that_move_there(receptionist_client, appointment, other_practitioner):
    body = receptionist_client.get(f"{DAY_URL}&move={appointment.pk}").content.decode()
    assert "pick a free time" in body
    move_url = reverse("scheduling:appointment_move", args=[appointment.pk])
    # Its own time counts as free while it moves: 10:15 is offered.
    link = free_cell(body, appointment.practitioner, 10, 15)
    assert link.startswith(move_url)
    confirm = receptionist_client.get(link)
    assert confirm.context["form"].initial["at"] == datetime.time(10, 15)
    # What the grid posts (a drag or a picked cell): the move service, then back to the grid.
    other = free_cell(body, other_practitioner, 11)
    start = re.search(r"start=([^&]+)", other).group(1)
    data = {"start": start, "practitioner": other_practitioner.pk, "day": "2030-01-07", "at": "11:00", "next": DAY_URL}
    response = receptionist_client.post(move_url, data)
    assert response.url == DAY_URL
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.practitioner) == (at(11), other_practitioner)


def test_moving_onto_a_taken_time_is_refused_with_the_free_times(receptionist_client, appointment, practitioner):
    AppointmentFactory(practitioner=practitioner, starts_at=at(11))
    move_url = reverse("scheduling:appointment_move", args=[appointment.pk])
    data = {"start": f"{at(11):%Y-%m-%dT%H:%M:%SZ}", "practitioner": practitioner.pk, "day": "2030-01-07",
            "at": "11:00", "next": DAY_URL}  # fmt: skip
    response = receptionist_client.post(move_url, data)
    assert response.status_code == 200
    assert "already has an appointment at this time" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.starts_at == at(10)


def test_cancelled_appointments_leave_their_time_free(receptionist_client, appointment):
    appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["status"])
    body = receptionist_client.get(DAY_URL).content.decode()
    assert appointment.get_absolute_url() not in body
    free_cell(body, appointment.practitioner, 10)


def test_week_grid_has_a_column_per_day(receptionist_client, appointment, practitioner):
    url = reverse("scheduling:week", args=[practitioner.pk]) + "?date=2030-01-09"
    body = receptionist_client.get(url).content.decode()
    assert body.count('<section class="grid-col') == 7
    assert appointment.get_absolute_url() in body
    assert f"start={at(9, day=MONDAY + datetime.timedelta(days=2)):%Y-%m-%dT%H:%M:%SZ}" in body
    assert f"start={at(9, day=MONDAY + datetime.timedelta(days=5)):%Y-%m-%dT%H:%M:%SZ}" not in body  # Saturday off


def test_room_view_shows_each_room_and_who_uses_it(receptionist_client, appointment, room2):
    body = receptionist_client.get(reverse("scheduling:rooms") + "?date=2030-01-07").content.decode()
    assert body.count('<section class="grid-col') == 2
    assert appointment.practitioner.name in body
    assert appointment.get_absolute_url() in body
    assert "/grid/book/" not in body  # booking goes through a practitioner's column


def test_reception_lands_on_todays_grid(client, receptionist, doctor, practitioner):
    client.force_login(receptionist)
    body = client.get(reverse("home")).content.decode()
    assert "Today, Monday 7 January 2030" in body
    assert 'class="grid-scroll" tabindex="0" role="region"' in body  # the grid scrolls in its own region
    assert reverse("patients:register") in body  # finding and registering patients stay one click away
    client.force_login(doctor)
    assert "grid-scroll" not in client.get(reverse("home")).content.decode()


def test_day_grid_query_budget_is_flat(receptionist_client, django_assert_max_num_queries):
    practitioners = [PractitionerFactory() for _ in range(4)]
    for index in range(40):
        starts_at = at(9) + datetime.timedelta(minutes=30 * (index // 4))
        AppointmentFactory(practitioner=practitioners[index % 4], starts_at=starts_at)
    with django_assert_max_num_queries(10):
        body = receptionist_client.get(DAY_URL).content.decode()
    assert body.count('class="grid-appt') == 40
