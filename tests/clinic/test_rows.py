"""clinic/rows.py and clinic/dateformats.py: the panels' links and dates are what reverse() and
the date filter give."""

import datetime

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from clinic.dateformats import (
    day_month_name_year,
    day_month_time,
    day_month_year,
    day_month_year_time,
    weekday_day_month_name_year,
    weekday_day_month_year,
    weekday_day_month_year_time,
)
from clinic.rows import link_maker

UTC = datetime.UTC
INSTANTS = [
    datetime.datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
    datetime.datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # just before the clocks go forward in London
    datetime.datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the hour that repeats in London
    datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    datetime.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),  # already next year in some zones
    datetime.datetime(1999, 6, 15, 12, 0, tzinfo=UTC),
]


@pytest.mark.parametrize("zone", ["Europe/London", "Pacific/Auckland", "America/New_York"])
@pytest.mark.parametrize("instant", INSTANTS)
def test_dates_show_what_the_date_filter_shows(settings, zone, instant):
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        local = timezone.localtime(instant)  # as the template's date filter receives it
        assert day_month_year(instant) == date_filter(local, "d M Y")
        assert day_month_year_time(instant) == date_filter(local, "d M Y H:i")
        assert day_month_time(instant) == date_filter(local, "d M H:i")
        assert weekday_day_month_year_time(instant) == date_filter(local, "D d M Y, H:i")


def test_dates_of_a_day_and_of_nothing():
    for month in range(1, 13):
        day = datetime.date(2026, month, 9)
        assert day_month_year(day) == date_filter(day, "d M Y")
        assert weekday_day_month_year(day) == date_filter(day, "D d M Y")
    assert weekday_day_month_year(None) == ""
    assert day_month_year(None) == day_month_year_time(None) == day_month_time(None) == ""
    assert weekday_day_month_year_time(None) == ""


def test_long_dates_of_the_calendar_headings():
    for day in [datetime.date(2026, 1, 5), datetime.date(2026, 11, 30), datetime.date(999, 12, 31)]:
        for offset in range(7):
            shown = day - datetime.timedelta(days=offset) if day.year > 999 else day
            assert weekday_day_month_name_year(shown) == date_filter(shown, "l j F Y")
            assert day_month_name_year(shown) == date_filter(shown, "j F Y")
    for month in range(1, 13):
        assert day_month_name_year(datetime.date(2027, month, 1)) == date_filter(datetime.date(2027, month, 1), "j F Y")


def test_links_are_what_reverse_gives():
    appointment = link_maker("scheduling:appointment_detail")
    assert appointment(42) == reverse("scheduling:appointment_detail", args=[42])
    session = link_maker("treatments:session_detail", 2)
    assert session(7, 1234567) == reverse("treatments:session_detail", args=[7, 1234567])
    assert session(2**63 - 1, 1) == reverse("treatments:session_detail", args=[2**63 - 1, 1])


@pytest.mark.django_db
def test_one_row_is_what_the_orm_gives_with_its_related_rows(django_assert_num_queries):
    from django.forms.models import model_to_dict
    from django.http import Http404
    from django.shortcuts import get_object_or_404

    from clinic.rows import MAX_ID, one_or_404
    from scheduling.models import Appointment, Practitioner
    from tests.scheduling.factories import AppointmentFactory

    appointment = AppointmentFactory()  # no plan: a foreign key left empty
    orm = get_object_or_404(Appointment.objects.select_related("practitioner", "patient", "plan"), pk=appointment.pk)
    with django_assert_num_queries(1):
        ours = one_or_404(Appointment, appointment.pk, ("practitioner", "patient", "plan"))
        assert ours.plan is None
        assert ours.patient.last_name == orm.patient.last_name
        assert ours.practitioner.user_id == orm.practitioner.user_id
    assert model_to_dict(ours) == model_to_dict(orm)
    assert model_to_dict(ours.patient) == model_to_dict(orm.patient)
    assert not ours._state.adding
    practitioner = one_or_404(Practitioner, appointment.practitioner_id, ("user",))
    with django_assert_num_queries(0):
        assert practitioner.user.pk == appointment.practitioner.user_id
    for missing in (0, -1, appointment.pk + 1000, MAX_ID, MAX_ID + 1):
        with pytest.raises(Http404, match=r"No Appointment matches the given query\."):
            one_or_404(Appointment, missing)
