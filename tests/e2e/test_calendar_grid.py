"""The day grid in a browser: book by clicking free time, move by dragging, on a desk screen and a phone."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.localtime import local_datetime
from scheduling.models import Appointment
from tests.e2e.conftest import login
from tests.factories import DoctorFactory, PatientFactory, ReceptionistFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]


def next_working_day() -> datetime.date:
    day = timezone.localdate() + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def cell(page, practitioner, day: datetime.date, hour: int):
    start = f"{local_datetime(day, datetime.time(hour), fold=0):%Y-%m-%dT%H:%M:%SZ}"
    return page.locator(f'a.grid-free[href*="practitioner={practitioner.pk}&start={start}"]')


def test_receptionist_books_from_free_time_and_moves_by_dragging(live_server, page):
    receptionist = ReceptionistFactory(username="rosa")
    doctor = DoctorFactory(username="amelie", first_name="Amélie", last_name="Laurent")
    practitioner = PractitionerFactory(user=doctor, default_room=RoomFactory(name="Treatment room 1"))
    patient = PatientFactory(first_name="Hélène", last_name="Lefèvre")
    day = next_working_day()
    page.set_viewport_size({"width": 1366, "height": 768})

    login(page, live_server, receptionist)
    # The front desk lands on today's grid.
    expect(page.locator(".grid-scroll")).to_be_visible()
    page.goto(f"{live_server.url}/scheduling/?date={day:%Y-%m-%d}")

    # Book: free time at 11:00, from the keyboard; the patient found in the panel.
    eleven = cell(page, practitioner, day, 11)
    eleven.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#grid-panel")
    expect(panel.get_by_role("heading", name="Book with Amélie Laurent")).to_be_focused()
    expect(panel.get_by_label("Appointment type")).to_have_value(str(_type_id("Mesotherapy session")))
    panel.get_by_label("Find the patient").fill("Lefevre")
    panel.get_by_label("Hélène Lefèvre").check()
    panel.get_by_label("Appointment type").select_option(label="Consultation (30 min)")
    panel.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Booked: Consultation for Hélène Lefèvre")).to_be_visible()
    booked = Appointment.objects.get()
    assert timezone.localtime(booked.starts_at).time() == datetime.time(11)
    assert booked.patient == patient
    card = page.locator(f'a.grid-appt[href="/scheduling/appointments/{booked.pk}/"]')
    expect(card).to_contain_text("Treatment room 1")

    # Move: drag the appointment onto free time at 15:00; the move service answers.
    # (Both in view: a drag that has to scroll the page starts from wherever the scroll left it.)
    page.set_viewport_size({"width": 1366, "height": 1000})
    card.drag_to(cell(page, practitioner, day, 15))
    expect(page.get_by_text("Moved to ")).to_be_visible()
    booked.refresh_from_db()
    assert timezone.localtime(booked.starts_at).time() == datetime.time(15)
    assert booked.changes.filter(action="moved").count() == 1

    # Clicking the appointment opens its card with the desk's actions.
    page.locator(f'a.grid-appt[href="/scheduling/appointments/{booked.pk}/"]').click()
    expect(panel.get_by_role("button", name="Cancel appointment")).to_be_visible()
    # The panel takes the focus once it has settled (its forms live); Escape then closes it.
    expect(panel.locator("[data-panel-heading]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_empty()

    # The keyboard way to move: "Move on the grid", then a free cell (Enter) moves it there.
    page.locator(f'a.grid-appt[href="/scheduling/appointments/{booked.pk}/"]').click()
    panel.get_by_role("link", name="Move on the grid").click()
    expect(page.get_by_text("pick a free time")).to_be_visible()
    sixteen = cell(page, practitioner, day, 16)
    sixteen.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Moved to ")).to_be_visible()
    booked.refresh_from_db()
    assert timezone.localtime(booked.starts_at).time() == datetime.time(16)

    # On a phone the grid scrolls in its own region; the page itself does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator(".grid-scroll")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _type_id(name: str) -> int:
    from scheduling.models import AppointmentType

    return AppointmentType.objects.get(name=name).pk
