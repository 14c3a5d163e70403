"""The day grid and a practitioner's week grid are written once per state of their data
(scheduling.grid.rendered_day_grid, rendered_week_grid): a second look at an unchanged day or
week reuses it, and any change to what the grid shows, or the time moving on, shows at once."""

import datetime
import re

import pytest
from django.urls import reverse

from scheduling import grid, selectors
from scheduling.models import Appointment, WorkingHours
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import (
    AppointmentFactory,
    ClinicClosureFactory,
    PractitionerFactory,
    RoomFactory,
    TimeOffFactory,
    appointment_type,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC
DAY_URL = reverse("scheduling:day") + "?date=2030-01-07"


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(MONDAY.year, MONDAY.month, MONDAY.day, hour, minute, tzinfo=UTC)


def cell_start(hour: int, minute: int = 0) -> str:
    return f"start={at(hour, minute):%Y-%m-%dT%H:%M:%SZ}"


@pytest.fixture
def appointment(practitioner, patient):
    return AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=at(10)
    )


@pytest.fixture
def day_page(frozen_now, receptionist_client):
    def get() -> str:
        response = receptionist_client.get(DAY_URL)
        assert response.status_code == 200
        return response.content.decode()

    return get


@pytest.fixture(params=["day_page", "week_page"])
def grid_page(request):
    """The day page, or the week page of the practitioner (the appointment's week)."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def builds(monkeypatch):
    """How many times the day grid was built (not taken from what was kept)."""
    calls = []
    build = grid.day_grid

    def counting(*args, **kwargs):
        calls.append(args)
        return build(*args, **kwargs)

    monkeypatch.setattr(grid, "day_grid", counting)
    return calls


def test_an_unchanged_day_is_written_once(day_page, appointment, builds, django_assert_max_num_queries):
    first = day_page()
    with django_assert_max_num_queries(8):
        second = day_page()
    assert len(builds) == 1
    board = re.compile(r'<div class="grid-board.*?</section>\s*</div>', re.DOTALL)
    assert board.search(second).group(0) == board.search(first).group(0)
    assert "Jane Doe" in second


def test_a_booking_a_move_and_a_cancellation_show_at_once(day_page, appointment, practitioner):
    assert "10:00–10:30" in day_page()
    other = AppointmentFactory(practitioner=practitioner, starts_at=at(11), patient=PatientFactory(last_name="Booked"))
    assert "Booked" in day_page()
    Appointment.objects.filter(pk=other.pk).update(starts_at=at(15), ends_at=at(15, 30), blocked_until=at(15, 30))
    body = day_page()
    assert "15:00–15:30" in body
    assert "11:00–11:30" not in body
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CANCELLED)
    assert "10:00–10:30" not in day_page()


def test_an_appointment_moved_to_another_day_leaves_this_one(day_page, appointment):
    assert "10:00–10:30" in day_page()
    tuesday = datetime.timedelta(days=1)
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=at(10) + tuesday, ends_at=at(10, 30) + tuesday, blocked_until=at(10, 30) + tuesday
    )
    assert "10:00–10:30" not in day_page()


def test_a_status_change_shows(grid_page, appointment):
    assert "Booked</span>" in grid_page()
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.ARRIVED)
    assert "Arrived</span>" in grid_page()


def test_renamed_patient_type_room_and_practitioner_show(grid_page, appointment, patient, practitioner):
    grid_page()
    patient.last_name = "Renamed"
    patient.save(update_fields=["last_name"])
    assert "Jane Renamed" in grid_page()
    kind = appointment_type("Consultation")
    kind.name = "First visit"
    kind.save(update_fields=["name"])
    assert "First visit" in grid_page()
    room = practitioner.default_room
    room.name = "Blue room"
    room.save(update_fields=["name"])
    assert "Blue room" in grid_page()
    user = practitioner.user
    user.last_name = "Newname"
    user.save(update_fields=["last_name"])
    assert f"{user.first_name} Newname" in grid_page()


def test_a_plans_session_count_shows(grid_page, appointment):
    from tests.treatments.factories import TreatmentPlanFactory

    plan = TreatmentPlanFactory(consultation__patient=appointment.patient, session_count=4)
    Appointment.objects.filter(pk=appointment.pk).update(plan=plan, plan_session_number=2)
    assert "session 2 of 4" in grid_page()
    type(plan).objects.filter(pk=plan.pk).update(session_count=6)
    assert "session 2 of 6" in grid_page()


def test_new_and_deactivated_practitioners_show(day_page, practitioner):
    assert day_page().count('<section class="grid-col') == 1
    newcomer = PractitionerFactory(default_room=RoomFactory())
    assert day_page().count('<section class="grid-col') == 2
    newcomer.is_active = False
    newcomer.save(update_fields=["is_active"])
    assert day_page().count('<section class="grid-col') == 1


def test_hours_time_off_and_closures_show(day_page, practitioner):
    assert cell_start(9) in day_page()
    WorkingHours.objects.filter(practitioner=practitioner, weekday=MONDAY.weekday()).update(starts_at=datetime.time(10))
    body = day_page()
    assert cell_start(9) not in body
    assert cell_start(10) in body
    time_off = TimeOffFactory(practitioner=practitioner, starts_at=at(14), ends_at=at(16))
    assert cell_start(14, 30) not in day_page()
    time_off.delete()
    assert cell_start(14, 30) in day_page()
    ClinicClosureFactory(starts_at=at(15), ends_at=at(18))
    assert cell_start(16) not in day_page()


def test_free_time_that_passes_is_no_longer_offered(day_page, practitioner, frozen_now):
    frozen_now.move_to(at(9, 10))
    assert cell_start(9, 15) in day_page()
    frozen_now.move_to(at(9, 20))
    body = day_page()
    assert cell_start(9, 15) not in body
    assert cell_start(9, 30) in body


def test_each_viewer_gets_the_grid_their_permissions_allow(day_page, client, manager, practitioner, frozen_now):
    assert "/grid/book/" in day_page()  # reception books
    client.force_login(manager)
    body = client.get(DAY_URL).content.decode()
    assert "/grid/book/" not in body
    assert re.search(r'class="grid-free grid-free-shown', body)


def test_move_mode_is_never_the_kept_grid(day_page, receptionist_client, appointment):
    day_page()
    body = receptionist_client.get(f"{DAY_URL}&move={appointment.pk}").content.decode()
    assert "pick a free time" in body
    assert reverse("scheduling:appointment_move", args=[appointment.pk]) in body
    assert reverse("scheduling:appointment_move", args=[appointment.pk]) not in day_page()


def test_only_a_few_grids_are_kept(practitioner):
    for offset in range(grid.DAY_GRIDS_KEPT + 5):
        grid.rendered_day_grid(MONDAY + datetime.timedelta(days=offset), can_book=True, can_change=True)
    assert len(grid._day_grids) <= grid.DAY_GRIDS_KEPT


# The week -----------------------------------------------------------------------------------

WEDNESDAY = 2  # days after MONDAY


def on(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    return at(hour, minute) + datetime.timedelta(days=days)


def week_cell(days: int, hour: int, minute: int = 0) -> str:
    return f"start={on(days, hour, minute):%Y-%m-%dT%H:%M:%SZ}"


def move(appointment, starts_at: datetime.datetime) -> None:
    ends_at = starts_at + (appointment.ends_at - appointment.starts_at)
    Appointment.objects.filter(pk=appointment.pk).update(starts_at=starts_at, ends_at=ends_at, blocked_until=ends_at)


@pytest.fixture
def week_page(frozen_now, receptionist_client, practitioner):
    def get(date: str = "2030-01-09") -> str:
        response = receptionist_client.get(reverse("scheduling:week", args=[practitioner.pk]) + f"?date={date}")
        assert response.status_code == 200
        return response.content.decode()

    return get


@pytest.fixture
def week_reads(monkeypatch):
    """How many times the week was read (selectors.week_days) and built (grid.week_grid)."""
    calls = {"read": 0, "built": 0}
    read, build = selectors.week_days, grid.week_grid

    def counting_read(*args, **kwargs):
        calls["read"] += 1
        return read(*args, **kwargs)

    def counting_build(*args, **kwargs):
        calls["built"] += 1
        return build(*args, **kwargs)

    monkeypatch.setattr(selectors, "week_days", counting_read)
    monkeypatch.setattr(grid, "week_grid", counting_build)
    return calls


@pytest.fixture
def wednesday_appointment(practitioner, patient):
    return AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=on(WEDNESDAY, 10)
    )


def test_an_unchanged_week_is_written_once(week_page, wednesday_appointment, week_reads, django_assert_num_queries):
    first = week_page()
    # The session, the user (with permissions and second factor), the practitioner and the
    # week's version: the version takes the place of the week's two reads (its appointments;
    # hours, time off, closures).
    with django_assert_num_queries(4):
        second = week_page()
    board = re.compile(r'<div class="grid-board.*?</section>\s*</div>', re.DOTALL)
    assert board.search(second).group(0) == board.search(first).group(0)
    assert "Jane Doe" in second
    saturday = week_page("2030-01-12")  # any day of the week is the same week
    assert board.search(saturday).group(0) == board.search(first).group(0)
    assert week_reads == {"read": 1, "built": 1}


def test_a_booking_a_move_and_a_cancellation_show_on_the_week(week_page, wednesday_appointment, practitioner):
    assert "10:00–10:30" in week_page()
    other = AppointmentFactory(
        practitioner=practitioner, starts_at=on(WEDNESDAY + 1, 11), patient=PatientFactory(last_name="Booked")
    )
    assert "Booked" in week_page()
    move(other, on(WEDNESDAY + 1, 15))
    body = week_page()
    assert "15:00–15:30" in body
    assert "11:00–11:30" not in body
    Appointment.objects.filter(pk=wednesday_appointment.pk).update(status=Appointment.Status.CANCELLED)
    assert "10:00–10:30" not in week_page()


def test_an_appointment_moved_out_of_the_week_and_back_shows(week_page, wednesday_appointment):
    assert "10:00–10:30" in week_page()
    move(wednesday_appointment, on(WEDNESDAY + 7, 10))
    assert "10:00–10:30" not in week_page()
    assert "10:00–10:30" in week_page("2030-01-16")
    move(wednesday_appointment, on(WEDNESDAY, 10))
    assert "10:00–10:30" in week_page()
    assert "10:00–10:30" not in week_page("2030-01-16")


def test_an_appointment_given_to_another_practitioner_leaves_the_week(
    week_page, wednesday_appointment, other_practitioner
):
    assert "10:00–10:30" in week_page()
    Appointment.objects.filter(pk=wednesday_appointment.pk).update(practitioner=other_practitioner)
    assert "10:00–10:30" not in week_page()


def test_hours_time_off_and_closures_show_on_the_week(week_page, practitioner):
    assert week_cell(WEDNESDAY, 9) in week_page()
    WorkingHours.objects.filter(practitioner=practitioner, weekday=WEDNESDAY).update(starts_at=datetime.time(10))
    body = week_page()
    assert week_cell(WEDNESDAY, 9) not in body
    assert week_cell(WEDNESDAY, 10) in body
    assert week_cell(WEDNESDAY + 1, 9) in body
    WorkingHours.objects.create(
        practitioner=practitioner, weekday=5, starts_at=datetime.time(9), ends_at=datetime.time(12)
    )
    assert week_cell(5, 9) in week_page()  # Saturday
    time_off = TimeOffFactory(practitioner=practitioner, starts_at=on(WEDNESDAY, 14), ends_at=on(WEDNESDAY, 16))
    assert week_cell(WEDNESDAY, 14, 30) not in week_page()
    time_off.delete()
    assert week_cell(WEDNESDAY, 14, 30) in week_page()
    ClinicClosureFactory(starts_at=on(WEDNESDAY + 1, 15), ends_at=on(WEDNESDAY + 1, 18))
    assert week_cell(WEDNESDAY + 1, 16) not in week_page()


def test_another_practitioners_week_is_their_own(week_page, wednesday_appointment, other_practitioner, week_reads):
    week_page()
    AppointmentFactory(
        practitioner=other_practitioner, room=other_practitioner.default_room, starts_at=on(WEDNESDAY, 15)
    )
    TimeOffFactory(practitioner=other_practitioner, starts_at=on(WEDNESDAY, 9), ends_at=on(WEDNESDAY, 18))
    body = week_page()
    assert "15:00–15:30" not in body
    assert week_cell(WEDNESDAY, 9) in body
    assert week_reads["built"] == 1  # nothing of this week changed


def test_free_time_that_passes_is_no_longer_offered_on_the_week(
    week_page, frozen_now, receptionist_client, receptionist
):
    frozen_now.move_to(at(9, 10))
    body = week_page()
    assert week_cell(0, 9, 15) in body
    assert 'class="grid-col grid-today"' in body
    frozen_now.move_to(at(9, 20))
    body = week_page()
    assert week_cell(0, 9, 15) not in body
    assert week_cell(0, 9, 30) in body
    frozen_now.move_to(on(1, 8))  # the next day: Monday is past, Tuesday is today
    receptionist_client.force_login(receptionist)  # yesterday's session has expired
    body = week_page()
    assert week_cell(0, 16) not in body
    assert week_cell(1, 9) in body
    assert f'grid-today" aria-labelledby="col-{(MONDAY + datetime.timedelta(days=1)).toordinal()}"' in body


def test_each_viewer_gets_the_week_their_permissions_allow(week_page, client, manager, practitioner):
    assert "/grid/book/" in week_page()  # reception books
    client.force_login(manager)
    body = client.get(reverse("scheduling:week", args=[practitioner.pk]) + "?date=2030-01-09").content.decode()
    assert "/grid/book/" not in body
    assert re.search(r'class="grid-free grid-free-shown', body)


def test_only_a_few_weeks_are_kept(practitioner):
    for offset in range(grid.WEEK_GRIDS_KEPT + 5):
        grid.rendered_week_grid(practitioner, MONDAY + datetime.timedelta(weeks=offset), can_book=True, can_change=True)
    assert len(grid._week_grids) <= grid.WEEK_GRIDS_KEPT
