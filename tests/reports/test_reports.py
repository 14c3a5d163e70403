"""The managers' reports: the figures from known data, the period form, the charts (server
SVG, no inline style), the CSV of each, and who may read them."""

import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse

from reports.reports import REPORTS
from scheduling.models import Appointment
from tests.factories import DoctorFactory, PatientFactory
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory, CompletedPlanFactory, SignedSessionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

UTC = datetime.UTC
MONDAY = datetime.date(2030, 1, 7)  # January: London is on GMT, local time = UTC
WEEK = {"date_from": "2030-01-07", "date_to": "2030-01-13"}


@pytest.fixture
def frozen():
    with time_machine.travel(datetime.datetime(2030, 1, 20, 12, tzinfo=UTC), tick=False):
        yield


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2030, 1, day, hour, minute, tzinfo=UTC)


def table(client, slug: str, period: dict) -> list[list[str]]:
    response = client.get(reverse("reports:csv", args=[slug]), period)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_no_show_rate_by_weekday_and_hour(manager_client):
    AppointmentFactory(starts_at=at(7, 10), status=Appointment.Status.COMPLETED)
    AppointmentFactory(starts_at=at(7, 10), status=Appointment.Status.NO_SHOW)
    AppointmentFactory(starts_at=at(8, 12), status=Appointment.Status.NO_SHOW)
    AppointmentFactory(starts_at=at(8, 12, 30), status=Appointment.Status.ARRIVED)
    AppointmentFactory(starts_at=at(8, 13), status=Appointment.Status.CANCELLED)  # no outcome
    AppointmentFactory(starts_at=at(9, 13), status=Appointment.Status.BOOKED)  # no outcome
    AppointmentFactory(starts_at=at(14, 10), status=Appointment.Status.NO_SHOW)  # after the period
    assert table(manager_client, "no-shows", WEEK) == [
        ["Weekday", "Hour", "Appointments", "No-shows", "No-show rate (%)"],
        ["Monday", "10:00", "2", "1", "50.0"],
        ["Tuesday", "12:00", "2", "1", "50.0"],
    ]


def test_lunchtime_utilisation_per_practitioner(manager_client):
    full_day = PractitionerFactory(user=DoctorFactory(first_name="Ada", last_name="Full"))
    PractitionerFactory(
        user=DoctorFactory(first_name="Bea", last_name="Afternoon"), hours=(datetime.time(13), datetime.time(18))
    )
    PractitionerFactory(
        user=DoctorFactory(first_name="Cy", last_name="Mornings"), hours=(datetime.time(8), datetime.time(12))
    )
    session = appointment_type("Mesotherapy session")
    AppointmentFactory(practitioner=full_day, starts_at=at(7, 12), appointment_type=session)  # 45 lunchtime minutes
    AppointmentFactory(practitioner=full_day, starts_at=at(7, 13, 45))  # 30-min consultation: 15 in the window
    AppointmentFactory(practitioner=full_day, starts_at=at(7, 13), status=Appointment.Status.CANCELLED)
    AppointmentFactory(practitioner=full_day, starts_at=at(7, 10))  # morning
    assert table(manager_client, "lunchtime-utilisation", {"date_from": "2030-01-07", "date_to": "2030-01-07"}) == [
        ["Practitioner", "Booked lunchtime minutes", "Working lunchtime minutes", "Utilisation (%)"],
        ["Ada Full", "60", "120", "50.0"],
        ["Bea Afternoon", "0", "60", "0.0"],
    ]
    # A week: five working days of 120 minutes (the weekend has no hours).
    rows = table(manager_client, "lunchtime-utilisation", WEEK)
    assert rows[1] == ["Ada Full", "60", "600", "10.0"]


def test_course_completion_counts_where_started_courses_ended(manager_client):
    in_period = at(8, 9)
    CompletedPlanFactory(activated_at=in_period, maintenance_due_on=MONDAY)
    CompletedPlanFactory(activated_at=in_period, maintenance_due_on=MONDAY)
    ActivePlanFactory(activated_at=in_period)
    abandoned = ActivePlanFactory(activated_at=in_period)
    SignedSessionFactory(plan=abandoned, number=1)
    SignedSessionFactory(plan=abandoned, number=2)
    abandoned.status, abandoned.cancelled_at, abandoned.cancellation_reason = "cancelled", in_period, "Moved away"
    abandoned.save()
    CompletedPlanFactory(activated_at=at(15, 9), maintenance_due_on=MONDAY)  # started after the period
    assert table(manager_client, "course-completion", WEEK) == [
        ["Courses", "Count"],
        ["Started", "4"],
        ["Completed", "2"],
        ["Still running", "1"],
        ["Abandoned after 2 sessions", "1"],
    ]


def test_recall_conversion_counts_bookings_within_sixty_days_of_the_due_date(manager_client):
    completed = datetime.datetime(2029, 7, 1, tzinfo=UTC)
    converted = CompletedPlanFactory(maintenance_due_on=datetime.date(2030, 1, 8), completed_at=completed)
    AppointmentFactory(patient=converted.patient, starts_at=at(25, 12), created_at=at(9, 10))
    CompletedPlanFactory(  # due, not booked yet, still within the 60 days
        maintenance_due_on=datetime.date(2030, 1, 9), completed_at=completed
    )
    late = CompletedPlanFactory(maintenance_due_on=datetime.date(2029, 10, 1), completed_at=completed)
    AppointmentFactory(patient=late.patient, starts_at=at(25, 13))  # made today: >60 days after October
    cancelled = CompletedPlanFactory(maintenance_due_on=datetime.date(2030, 1, 10), completed_at=completed)
    # A booking since cancelled does not count.
    AppointmentFactory(patient=cancelled.patient, starts_at=at(25, 14), status=Appointment.Status.CANCELLED)
    assert table(manager_client, "recall-conversion", WEEK) == [
        ["Month due", "Due", "Booked within 60 days", "Still open", "Conversion (%)"],
        ["Jan 2030", "3", "1", "2", "33.3"],
    ]
    october = {"date_from": "2029-10-01", "date_to": "2029-10-31"}
    assert table(manager_client, "recall-conversion", october)[1] == ["Oct 2029", "1", "0", "0", "0.0"]


def test_new_patients_per_week_lists_every_week(manager_client):
    for day in (7, 8, 13):
        PatientFactory(created_at=at(day, 10))
    PatientFactory(created_at=at(13, 23, 59))
    assert table(manager_client, "new-patients", {"date_from": "2030-01-07", "date_to": "2030-01-15"}) == [
        ["Week of", "New patients"],
        ["07 Jan 2030", "4"],
        ["14 Jan 2030", "0"],
    ]


def test_the_page_draws_each_report_as_svg_with_its_table(manager_client, django_assert_max_num_queries):
    AppointmentFactory(starts_at=at(7, 10), status=Appointment.Status.NO_SHOW)
    # Sign-in and permissions, the JIT switch, and one aggregate per report: however many rows.
    with django_assert_max_num_queries(15):
        response = manager_client.get(reverse("reports:index"), WEEK)
    assert response.status_code == 200
    body = response.content.decode()
    for title in (
        "No-show rate by weekday and time",
        "Lunchtime utilisation per practitioner",
        "Course completion",
        "Maintenance recall conversion",
        "New patients per week",
    ):
        assert title in body
    assert body.count('<svg class="report-chart"') == len(REPORTS)  # one chart per report
    assert 'class="chart-bar"' in body
    assert "<title" in body
    assert "<desc" in body
    assert "style=" not in body  # a strict CSP is coming: looks come from static/css/reports.css
    assert "css/reports.css" in body
    assert reverse("reports:csv", args=["no-shows"]) + "?date_from=2030-01-07&amp;date_to=2030-01-13" in body
    assert "Mon: 100.0%" in body  # the chart's description, for screen readers


def test_without_dates_the_page_shows_the_last_91_days(manager_client):
    body = manager_client.get(reverse("reports:index")).content.decode()
    assert "From 22 October 2029 to 20 January 2030 (91 days)" in body


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"date_from": "2030-01-13", "date_to": "2030-01-07"}, "The end date must be on or after the start date."),
        ({"date_from": "2026-01-01", "date_to": "2030-01-07"}, "at most 731 days"),
        ({"date_from": "2033-01-01", "date_to": "2033-01-02"}, "within a year from today"),
        ({"date_from": "1900-01-01", "date_to": "1900-01-02"}, "from 2000 on"),
        ({"date_from": "yesterday", "date_to": "2030-01-07"}, "Enter a valid date."),
        ({"date_from": "2030-01-07"}, "This field is required."),
    ],
)
def test_a_bad_period_is_explained(manager_client, period, message):
    response = manager_client.get(reverse("reports:index"), period)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "report-chart" not in response.content.decode()
    csv_response = manager_client.get(reverse("reports:csv", args=["no-shows"]), period)
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_an_unknown_report_is_not_found(manager_client):
    assert manager_client.get(reverse("reports:csv", args=["waitlist"]), WEEK).status_code == 404


def test_the_csv_names_its_period_and_writes_formulas_as_text(manager_client):
    doctor = DoctorFactory(first_name="=HYPERLINK(1)", last_name="")
    PractitionerFactory(user=doctor, default_room=RoomFactory(name="Room 9"))
    response = manager_client.get(reverse("reports:csv", args=["lunchtime-utilisation"]), WEEK)
    assert response["Content-Disposition"] == ('attachment; filename="lunchtime-utilisation_2030-01-07_2030-01-13.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_only_managers_read_reports(client, doctor, receptionist):
    for user in (doctor, receptionist):
        client.force_login(user)
        assert client.get(reverse("reports:index")).status_code == 403
        assert client.get(reverse("reports:csv", args=["no-shows"]), WEEK).status_code == 403


def test_reports_are_not_cached(manager_client):
    response = manager_client.get(reverse("reports:index"), WEEK)
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_the_menu_links_reports_for_managers(client, manager, doctor):
    client.force_login(manager)
    assert reverse("reports:index") in client.get(reverse("home")).content.decode()
    client.force_login(doctor)
    assert reverse("reports:index") not in client.get(reverse("home")).content.decode()


def test_waitlist_refills_count_each_freed_slot_once(manager_client):
    from scheduling.models import WaitlistOffer
    from tests.scheduling.factories import WaitlistEntryFactory

    practitioner = PractitionerFactory(default_room=RoomFactory())

    def offer(slot_start, *, created, claimed=False):
        entry = WaitlistEntryFactory()
        return WaitlistOffer.objects.create(
            entry=entry, patient=entry.patient, practitioner=practitioner, appointment_type=entry.appointment_type,
            starts_at=slot_start, ends_at=slot_start + datetime.timedelta(minutes=30), wave=1,
            created_at=created, expires_at=slot_start, claimed_at=created if claimed else None,
            appointment=AppointmentFactory(
                patient=entry.patient, practitioner=practitioner, room=practitioner.default_room, starts_at=slot_start
            ) if claimed else None,
        )  # fmt: skip

    offer(at(9, 12), created=at(8, 9), claimed=True)  # one slot offered to two patients, taken once
    offer(at(9, 12), created=at(8, 9))
    offer(at(10, 13), created=at(9, 10))  # offered, nobody took it
    offer(at(16, 12), created=at(15, 9), claimed=True)
    assert table(manager_client, "waitlist-refills", {"date_from": "2030-01-07", "date_to": "2030-01-20"}) == [
        ["Week of", "Slots offered", "Refilled", "Refilled (%)"],
        ["07 Jan 2030", "2", "1", "50.0"],
        ["14 Jan 2030", "1", "1", "100.0"],
    ]
