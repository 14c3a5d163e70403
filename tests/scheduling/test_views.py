import datetime
import re

import pytest
from django.urls import reverse

from scheduling import services
from scheduling.models import Appointment, Practitioner
from tests.factories import PatientFactory
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import ActivePlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
UTC = datetime.UTC


def at(hour: int, minute: int = 0, day: datetime.date = MONDAY) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def appointment(practitioner, patient):
    return AppointmentFactory(
        practitioner=practitioner, patient=patient, room=practitioner.default_room, starts_at=at(10)
    )


@pytest.fixture
def plan(practitioner, patient):
    return ActivePlanFactory(doctor=practitioner.user, patient=patient, consultation__patient=patient)


def book_query(patient, practitioner, starts_at, type_name="Consultation") -> dict:
    return {
        "patient": patient.pk,
        "practitioner": practitioner.pk,
        "appointment_type": appointment_type(type_name).pk,
        "start": starts_at.isoformat(),
    }


def test_patient_page_to_booked_lunchtime_slot_in_three_clicks(receptionist_client, practitioner, patient):
    # Click 1: "Book lunchtime slot" on the patient's page.
    page = receptionist_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    finder_url = re.search(r'href="([^"]+)">Book lunchtime slot', page).group(1).replace("&amp;", "&")
    # Click 2: the first free lunchtime slot, listed without searching.
    page = receptionist_client.get(finder_url).content.decode()
    slot_url = re.search(r'href="(/scheduling/book/[^"]+)"', page).group(1).replace("&amp;", "&")
    confirm_page = receptionist_client.get(slot_url)
    assert "Confirm booking" in confirm_page.content.decode()
    # Click 3: confirm.
    form = confirm_page.context["form"]
    data = {name: form[name].value() for name in ("patient", "practitioner", "appointment_type", "room", "start")}
    response = receptionist_client.post(reverse("scheduling:book"), {k: v or "" for k, v in data.items()})
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response.url == appointment.get_absolute_url()
    assert appointment.starts_at == at(12)
    assert appointment.booked_by.username == "rita"


def test_booking_refusal_is_a_form_error(receptionist_client, practitioner, patient):
    response = receptionist_client.post(reverse("scheduling:book"), book_query(patient, practitioner, at(19)))
    assert response.status_code == 200
    assert "outside Ada Okafor&#x27;s working hours" in response.content.decode()
    assert not Appointment.objects.exists()


def test_booking_with_a_broken_slot_says_so(receptionist_client, practitioner, patient):
    query = {**book_query(patient, practitioner, at(12)), "start": "yesterday"}
    response = receptionist_client.post(reverse("scheduling:book"), query)
    assert response.status_code == 400
    assert "choose it again from the slot finder" in response.content.decode()


def test_lost_race_shows_slot_taken_with_alternatives(receptionist_client, practitioner, patient, monkeypatch):
    AppointmentFactory(practitioner=practitioner, room=practitioner.default_room, starts_at=at(12))
    monkeypatch.setattr(services, "_availability_errors", lambda a, **kw: ([], a.practitioner.default_room))
    response = receptionist_client.post(reverse("scheduling:book"), book_query(patient, practitioner, at(12)))
    body = response.content.decode()
    assert response.status_code == 200
    assert "This slot was just taken." in body
    assert "Free times now" in body
    assert Appointment.objects.count() == 1


def test_slot_booked_by_someone_else_since_it_was_shown_is_just_taken(receptionist_client, practitioner, patient):
    # Another receptionist books the slot between this one's slot finder and her confirmation.
    confirm_page = receptionist_client.get(reverse("scheduling:book"), book_query(patient, practitioner, at(12)))
    assert confirm_page.status_code == 200
    AppointmentFactory(practitioner=practitioner, room=practitioner.default_room, starts_at=at(12))
    response = receptionist_client.post(reverse("scheduling:book"), book_query(patient, practitioner, at(12)))
    body = response.content.decode()
    assert "This slot was just taken. Ada Okafor already has an appointment at this time." in body
    assert "Free times now" in body
    assert Appointment.objects.count() == 1


def test_booking_outside_the_rules_is_not_called_taken(receptionist_client, practitioner, patient):
    AppointmentFactory(practitioner=practitioner, room=practitioner.default_room, starts_at=at(19))
    response = receptionist_client.post(reverse("scheduling:book"), book_query(patient, practitioner, at(19)))
    body = response.content.decode()
    assert "outside Ada Okafor&#x27;s working hours" in body
    assert "just taken" not in body


def test_move_cancel_and_status_from_the_appointment_page(doctor_client, appointment, frozen_now):
    move_url = reverse("scheduling:appointment_move", args=[appointment.pk])
    response = doctor_client.post(
        move_url, {"day": "2030-01-07", "at": "20:00", "practitioner": appointment.practitioner_id}
    )
    assert "outside Ada Okafor&#x27;s working hours" in response.content.decode()
    response = doctor_client.post(
        move_url, {"day": "2030-01-07", "at": "11:00", "practitioner": appointment.practitioner_id}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == at(11)
    cancel_url = reverse("scheduling:appointment_cancel", args=[appointment.pk])
    response = doctor_client.post(cancel_url, {"reason": ""}, follow=True)
    assert "This field is required." in response.content.decode()
    doctor_client.post(reverse("scheduling:appointment_check_in", args=[appointment.pk]))
    frozen_now.move_to(at(11, 40))
    doctor_client.post(reverse("scheduling:appointment_complete", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    response = doctor_client.post(cancel_url, {"reason": "Changed mind"}, follow=True)
    assert "A completed appointment cannot be cancelled." in response.content.decode()


def test_move_to_a_nonexistent_local_time_says_why(doctor_client, practitioner, patient):
    appointment = AppointmentFactory(practitioner=practitioner, patient=patient, starts_at=at(10))
    response = doctor_client.post(
        reverse("scheduling:appointment_move", args=[appointment.pk]),
        {"day": "2030-03-31", "at": "01:30", "practitioner": practitioner.pk},
    )
    assert "does not exist on 31 Mar 2030: the clocks go forward" in response.content.decode()


def test_receptionist_sees_appointment_facts_but_no_plan_link(client, doctor, receptionist, plan, practitioner):
    appointment = AppointmentFactory(
        practitioner=practitioner, patient=plan.patient, starts_at=at(10), plan=plan, plan_session_number=1
    )
    plan_url = plan.get_absolute_url()
    plan.notes = "Clinical note: reacts to lidocaine"
    plan.save(update_fields=["notes"])
    for user, shown in ((receptionist, False), (doctor, True)):
        client.force_login(user)
        for url in (appointment.get_absolute_url(), reverse("scheduling:course_book", args=[plan.pk])):
            body = client.get(url).content.decode()
            assert (plan_url in body) is shown, (user.username, url)
            assert "lidocaine" not in body
        # The calendar shows the appointment's facts to everyone, and no clinical link.
        body = client.get(reverse("scheduling:day") + "?date=2030-01-07").content.decode()
        assert "session 1 of 5" in body
        assert plan_url not in body
        assert "lidocaine" not in body


def test_day_view_navigates_with_htmx(doctor_client, appointment):
    url = reverse("scheduling:day") + "?date=2030-01-07"
    full = doctor_client.get(url).content.decode()
    assert "<html" in full
    assert 'hx-get="/scheduling/?date=2030-01-08"' in full
    partial = doctor_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial
    assert appointment.patient.full_name in partial
    assert "Booked" in partial  # the status in words, not only a colour


def test_bad_date_falls_back_to_today(doctor_client):
    response = doctor_client.get(reverse("scheduling:day") + "?date=notadate")
    # Today's calendar, saying the date was not understood.
    assert response.status_code == 400
    assert response.context["day"] == MONDAY
    assert "Enter a valid date." in response.content.decode()


def test_slot_finder_bad_input_names_the_problem(receptionist_client, patient, practitioner):
    response = receptionist_client.get(
        reverse("scheduling:find"),
        {"patient": patient.pk, "appointment_type": appointment_type().pk, "date_from": "2030-01-10",
         "date_to": "2030-01-07", "window": "lunch"},
    )  # fmt: skip
    assert "The end of the search must not be before its start." in response.content.decode()


def _make_appointments(count: int, practitioners: list[Practitioner]) -> None:
    rooms = [RoomFactory(name=f"Q{index}") for index in range(len(practitioners))]
    consultation = appointment_type()
    plan = ActivePlanFactory(session_count=6)  # each card shows "session n of 6"
    rows = []
    for index in range(count):
        column = index % len(practitioners)
        starts_at = at(9) + datetime.timedelta(minutes=2 * (index // len(practitioners)))
        ends_at = starts_at + datetime.timedelta(minutes=1)
        rows.append(
            Appointment(
                patient=PatientFactory(), practitioner=practitioners[column], room=rooms[column],
                appointment_type=consultation, starts_at=starts_at, ends_at=ends_at, blocked_until=ends_at,
                plan=plan, plan_session_number=index + 1,
            )
        )  # fmt: skip
    Appointment.objects.bulk_create(rows)


@pytest.mark.parametrize("count", [10, 300])
def test_calendar_query_budget_does_not_grow(doctor_client, django_assert_max_num_queries, count):
    practitioners = [PractitionerFactory() for _ in range(3)]
    _make_appointments(count, practitioners)
    for url in (
        reverse("scheduling:day") + "?date=2030-01-07",
        reverse("scheduling:week", args=[practitioners[0].pk]) + "?date=2030-01-07",
        reverse("scheduling:rooms") + "?date=2030-01-07",
        reverse("scheduling:today"),
    ):
        with django_assert_max_num_queries(10):
            response = doctor_client.get(url)
        assert response.status_code == 200


def test_feed_token_works_and_can_be_regenerated(client, doctor, receptionist, practitioner, appointment):
    feed_url = reverse("scheduling:feed", args=[practitioner.feed_token])
    response = client.get(feed_url)
    assert response["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in response.content
    assert appointment.patient.last_name.encode() not in response.content  # initial only
    client.force_login(receptionist)
    assert client.post(reverse("scheduling:feed_regenerate", args=[practitioner.pk])).status_code == 403
    client.force_login(doctor)
    week = client.get(reverse("scheduling:week", args=[practitioner.pk])).content.decode()
    assert practitioner.feed_token in week
    client.post(reverse("scheduling:feed_regenerate", args=[practitioner.pk]))
    practitioner.refresh_from_db()
    assert client.get(feed_url).status_code == 404
    assert client.get(reverse("scheduling:feed", args=[practitioner.feed_token])).status_code == 200


def test_appointment_ics_download(receptionist_client, appointment):
    response = receptionist_client.get(reverse("scheduling:appointment_ics", args=[appointment.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="appointment-{appointment.pk}.ics"'
    assert b"DTSTART:20300107T100000Z" in response.content


def test_course_booking_page_proposes_and_books_all(receptionist_client, plan, practitioner):
    url = reverse("scheduling:course_book", args=[plan.pk])
    AppointmentFactory(practitioner=practitioner, starts_at=at(12, 0, MONDAY + datetime.timedelta(days=14)))
    params = {"practitioner": practitioner.pk, "appointment_type": appointment_type("Mesotherapy session").pk,
              "first_day": "2030-01-07", "at": "12:00"}  # fmt: skip
    page = receptionist_client.get(url, params)
    body = page.content.decode()
    assert "Ada Okafor already has an appointment at this time." in body
    assert "Free times of that week instead." in body
    data = {**params, **{f"session_{p.number}": p.slot.iso_start for p in page.context["proposal"]}}
    response = receptionist_client.post(url, data)
    assert response.status_code == 302
    assert plan.appointments.count() == plan.session_count


def test_course_booking_refusal_lists_every_conflict(receptionist_client, plan, practitioner):
    url = reverse("scheduling:course_book", args=[plan.pk])
    params = {"practitioner": practitioner.pk, "appointment_type": appointment_type("Mesotherapy session").pk,
              "first_day": "2030-01-07", "at": "12:00"}  # fmt: skip
    data = {
        **params,
        "session_1": at(20).isoformat(),
        "session_2": at(21, 0, MONDAY + datetime.timedelta(days=7)).isoformat(),
    }
    body = receptionist_client.post(url, data).content.decode()
    assert "Nothing was booked" in body
    assert "Session 1" in body
    assert "Session 2" in body
    assert not plan.appointments.exists()


def test_patient_panel_shows_appointments_by_permission(client, receptionist, manager, patient, appointment):
    client.force_login(receptionist)
    body = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Book lunchtime slot" in body
    assert appointment.get_absolute_url() in body
    client.force_login(manager)
    body = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Book lunchtime slot" not in body


def test_front_desk_list_checks_in_and_completes(receptionist_client, appointment, frozen_now):
    url = reverse("scheduling:today")
    body = receptionist_client.get(url).content.decode()
    assert appointment.patient.full_name in body
    check_in = reverse("scheduling:appointment_check_in", args=[appointment.pk])
    response = receptionist_client.post(check_in, {"next": url})
    assert response.url == url
    frozen_now.move_to(at(10, 35))
    body = receptionist_client.get(url).content.decode()
    assert "Arrived" in body
    receptionist_client.post(reverse("scheduling:appointment_complete", args=[appointment.pk]), {"next": url})
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    # An outside address in "next" is ignored.
    response = receptionist_client.post(check_in, {"next": "//evil.example/"})
    assert response.url == appointment.get_absolute_url()


@pytest.mark.parametrize(
    ("setup", "starts_at", "message"),
    [
        (None, at(7, 0), "This time is in the past."),
        (None, at(10, 0, MONDAY + datetime.timedelta(days=5)), "does not work on Saturdays"),
        ("time_off", at(10), "Ada Okafor is away then (Conference)."),
        ("closure", at(10), "The clinic is closed then (Bank holiday)."),
        ("overlap", at(10, 15), "Ada Okafor already has an appointment at this time."),
    ],
)
def test_every_refusal_is_a_form_error(receptionist_client, practitioner, patient, setup, starts_at, message):
    from tests.scheduling.factories import ClinicClosureFactory, TimeOffFactory

    if setup == "time_off":
        TimeOffFactory(practitioner=practitioner, starts_at=at(9), ends_at=at(12), reason="Conference")
    elif setup == "closure":
        ClinicClosureFactory(starts_at=at(0), ends_at=at(23))
    elif setup == "overlap":
        AppointmentFactory(practitioner=practitioner, starts_at=at(10))
    response = receptionist_client.post(reverse("scheduling:book"), book_query(patient, practitioner, starts_at))
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Appointment.objects.filter(patient=patient).exists()


@pytest.mark.parametrize("count", [10, 300])
def test_slot_finder_query_budget_does_not_grow(receptionist_client, patient, django_assert_max_num_queries, count):
    practitioners = [PractitionerFactory() for _ in range(3)]
    _make_appointments(count, practitioners)
    # 17: one of them loads the session's second-factor device (django-otp), on every page.
    # +2: the finder for any practitioner reads the appointments of the first whole day, then of the
    # next 3 and the next 12 days, as far as it needs to (find_slots): bounded, whatever the count.
    with django_assert_max_num_queries(19):
        response = receptionist_client.get(reverse("scheduling:find"), {"patient": patient.pk})
    assert response.status_code == 200
    assert response.context["slots"]


def test_actions_from_the_calendar(receptionist_client, appointment, manager, client):
    url = reverse("scheduling:day") + "?date=2030-01-07"
    assert appointment.get_absolute_url() in receptionist_client.get(url).content.decode()
    # Clicked on the grid: the appointment's card in the panel, its forms going back to the grid.
    panel = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}
    body = receptionist_client.get(appointment.get_absolute_url(), headers=panel).content.decode()
    assert f"{url}&amp;move={appointment.pk}" in body
    check_in = reverse("scheduling:appointment_check_in", args=[appointment.pk])
    assert check_in in body
    response = receptionist_client.post(check_in, {"next": url})
    assert response.url == url
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED
    client.force_login(manager)
    assert check_in not in client.get(appointment.get_absolute_url(), headers=panel).content.decode()  # managers look


def test_plan_page_lists_its_booked_sessions_and_offers_the_rest(doctor_client, plan, practitioner, patient):
    mesotherapy = appointment_type("Mesotherapy session")
    first = AppointmentFactory(
        plan=plan, plan_session_number=1, patient=patient, practitioner=practitioner, appointment_type=mesotherapy
    )
    AppointmentFactory(
        plan=plan, plan_session_number=2, patient=patient, practitioner=practitioner, appointment_type=mesotherapy,
        starts_at=first.starts_at + datetime.timedelta(days=7), status=Appointment.Status.CANCELLED,
    )  # fmt: skip
    body = doctor_client.get(plan.get_absolute_url()).content.decode()
    assert f'href="{first.get_absolute_url()}">Session 1: Mon 07 Jan 2030, 10:00</a>' in body
    assert "Session 2:" not in body  # cancelled: the session is free to book again
    assert reverse("scheduling:course_book", args=[plan.pk]) in body
    assert "Book the remaining sessions" in body
