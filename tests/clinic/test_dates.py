"""The clinic's date ranges and typed readers (clinic/dates.py): extreme, impossible and
malformed values are form errors, 400s or 404s, never OverflowError or ValueError."""

import datetime
import importlib
import inspect
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django import forms
from django.core.exceptions import BadRequest
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone

from clinic import dates
from clinic.localtime import FIRST_INSTANT, LAST_INSTANT, clock_reaches, day_bounds, local_datetime

TODAY = datetime.date(2030, 1, 7)
HUGE_ID = "7" * 100_000


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2030, 1, 7, 8, tzinfo=datetime.UTC), tick=False):
        yield


def test_ranges_are_relative_to_today():
    assert dates.BIRTH.bounds() == (datetime.date(1910, 1, 1), TODAY)  # 120 years at most
    assert dates.RECORD.bounds() == (dates.RECORDS_START, TODAY)
    assert dates.BOOKING.bounds() == (TODAY, datetime.date(2032, 1, 7))
    assert dates.CALENDAR.bounds() == (datetime.date(2020, 1, 7), datetime.date(2035, 1, 7))
    assert dates.PLAN_START.bounds() == (dates.RECORDS_START, datetime.date(2031, 1, 7))
    assert TODAY in dates.RECORD
    assert datetime.date(1999, 12, 31) not in dates.RECORD


def test_years_after_turns_29_february_into_28():
    assert dates.years_after(datetime.date(2028, 2, 29), 1) == datetime.date(2029, 2, 28)
    assert dates.years_after(datetime.date(2028, 2, 29), -4) == datetime.date(2024, 2, 29)


def test_messages_say_what_is_wrong():
    assert dates.BIRTH.error(datetime.date(2030, 1, 8)) == "The date of birth cannot be in the future."
    assert dates.BOOKING.error(datetime.date(2030, 1, 6)) == "The appointment date cannot be in the past."
    assert dates.RECORD.error(datetime.date(1, 1, 1)) == "This date must be from 1 January 2000 to 7 January 2030."
    assert dates.RECORD.error(TODAY) == ""


class Form(forms.Form):
    born = dates.DateField(within=dates.BIRTH, required=False)
    at = dates.DateTimeField(within=dates.RECORD, required=False)
    item = dates.IdField(required=False)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0001-01-01", "over 120 years old"),
        ("9999-12-31", "cannot be in the future"),
        ("2026-02-30", "Enter a valid date."),
        ("1909-12-31", "over 120 years old"),
        ("99999-01-01", "Enter a valid date."),
        ("0000-01-01", "Enter a valid date."),
        (HUGE_ID, "Enter a valid date."),
    ],
)
def test_date_field_refuses_impossible_and_far_dates(value, error):
    form = Form({"born": value})
    assert not form.is_valid()
    assert error in form.errors["born"][0]


def test_date_field_accepts_its_range():
    for value in ("1910-01-01", "1985-06-30", "2030-01-07"):
        assert Form({"born": value}).is_valid(), value


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00",
        "9999-12-31T23:59",
        "1999-12-31T23:59",
        "2030-01-08T00:00",
        "2030-01-07 25:00",
        "2026-02-30T12:00",
    ],
)
@pytest.mark.parametrize("zone", ["Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_datetime_field_refuses_far_times_in_any_zone(value, zone):
    with timezone.override(ZoneInfo(zone)):
        form = Form({"at": value})
        assert not form.is_valid()
        assert "at" in form.errors


def test_datetime_field_refuses_a_time_the_clocks_skip():
    with time_machine.travel(datetime.datetime(2030, 6, 1, tzinfo=datetime.UTC), tick=False):
        form = Form({"at": "2030-03-31T01:30"})
        assert not form.is_valid()
        assert "at" in form.errors
        assert Form({"at": "2030-03-31T02:30"}).is_valid()


def test_date_picker_offers_only_the_range():
    html = str(Form()["born"]) + str(Form()["at"])
    assert 'min="1910-01-01"' in html
    assert 'max="2030-01-07"' in html
    assert 'min="2000-01-01T00:00"' in html
    assert 'max="2030-01-07T23:59"' in html


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "１２", HUGE_ID, str(2**63), "1\x00"])
def test_id_field_refuses_what_cannot_be_an_id(value):
    form = Form({"item": value})
    assert not form.is_valid()
    assert "item" in form.errors


def test_id_field_takes_the_largest_bigint():
    form = Form({"item": str(2**63 - 1)})
    assert form.is_valid()
    assert form.cleaned_data["item"] == 2**63 - 1


@pytest.mark.parametrize("value", ["abc", "0", "-1", "１２", HUGE_ID, str(2**63), "1\x00", " 1"])
def test_id_param_is_not_found_when_malformed(value):
    with pytest.raises(Http404):
        dates.id_param(QueryDict(f"patient={value}") if "\x00" not in value else {"patient": value}, "patient")


def test_id_param_reads_an_id_or_nothing():
    assert dates.id_param({"patient": "42"}, "patient") == 42
    assert dates.id_param({"patient": ""}, "patient") is None
    assert dates.id_param({}, "patient") is None


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "2026-02-30", "2030-1-7x", HUGE_ID])
def test_date_param_is_a_bad_request(value):
    with pytest.raises(BadRequest):
        dates.date_param({"date": value}, "date", within=dates.CALENDAR)


def test_date_param_reads_a_date_or_the_default():
    assert dates.date_param({"date": "2030-02-01"}, "date", within=dates.CALENDAR) == datetime.date(2030, 2, 1)
    assert dates.date_param({}, "date", within=dates.CALENDAR, default=TODAY) == TODAY


@pytest.mark.parametrize("zone", ["Europe/London", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_localtime_helpers_do_not_overflow_at_the_ends_of_the_calendar(zone):
    zone = ZoneInfo(zone)
    start, end = day_bounds(datetime.date.max, zone)
    assert end == LAST_INSTANT
    assert start <= end
    first_start, first_end = day_bounds(datetime.date.min, zone)
    assert FIRST_INSTANT <= first_start < first_end
    assert local_datetime(datetime.date.max, datetime.time(23, 59), zone=zone) <= LAST_INSTANT
    assert clock_reaches(datetime.date.min, datetime.time(0, 0), zone) >= FIRST_INSTANT


FORM_MODULES = [
    "clinic.forms", "clinic.accounts.forms", "patients.forms", "intake.forms", "treatments.forms",
    "scheduling.forms", "scheduling.waitlist.forms", "messaging.forms", "reports.forms", "fhirapi.forms",
]  # fmt: skip


@pytest.mark.django_db
def test_every_date_field_of_every_form_has_a_range():
    """A date a person types is always within a range for what it is (clinic/dates.py)."""
    unbounded = []
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for name, form_class in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form_class, forms.BaseForm) or form_class.__module__ != module_name:
                continue
            for field_name, field in form_class.base_fields.items():
                if isinstance(field, forms.DateField | forms.DateTimeField) and not isinstance(
                    field, dates.DateField | dates.DateTimeField
                ):
                    unbounded.append(f"{module_name}.{name}.{field_name}")
    assert unbounded == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "names"),
    [
        ("audit_list", ("date_from", "date_to")),
        ("messaging:communications", ("day",)),
        ("reports:index", ("date_from", "date_to")),
        ("treatments:recall_list", ("date_from", "date_to")),
    ],
)
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "2026-02-30", HUGE_ID])
def test_filters_with_far_dates_are_form_errors(manager_client, page, names, value):
    query = {"date_from": "2030-01-01", "date_to": "2030-01-07", **dict.fromkeys(names, value)}
    response = manager_client.get(reverse(page), query)
    assert response.status_code in (200, 400)
    assert response.context["form"].errors
