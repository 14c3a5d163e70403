"""The plan page's date helpers write what Django's |date filter writes (in the clinic's time zone)."""

import datetime

import pytest
from django.template import Context, Template

from clinic import dateformats

# Every month and weekday, the clocks going forward and back in London, a year's last minute.
DAYS = [datetime.date(2026, month, 1 + month) for month in range(1, 13)] + [datetime.date(1985, 1, 31)]
INSTANTS = [
    datetime.datetime(2026, 3, 29, 0, 59, tzinfo=datetime.UTC),
    datetime.datetime(2026, 3, 29, 1, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 6, 30, 23, 30, tzinfo=datetime.UTC),
    datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC),
    datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC),
    datetime.datetime(2026, 12, 31, 23, 59, tzinfo=datetime.UTC),
    datetime.datetime(2027, 1, 4, 9, 5, tzinfo=datetime.UTC),
]


def date_filter(value, format_string: str) -> str:
    # Through a template, as pages show it: an aware datetime is shown in local time.
    return Template(f'{{{{ value|date:"{format_string}" }}}}').render(Context({"value": value}))


@pytest.mark.parametrize("day", DAYS)
def test_day_formats_match_the_date_filter(day):
    assert dateformats.day_month_year(day) == date_filter(day, "d M Y")
    assert dateformats.weekday_day_month_year(day) == date_filter(day, "D d M Y")


@pytest.mark.parametrize("instant", INSTANTS)
def test_local_datetime_formats_match_the_date_filter(instant):
    assert dateformats.day_month_year_time(instant) == date_filter(instant, "d M Y H:i")
    assert dateformats.weekday_day_month_year_time(instant) == date_filter(instant, "D d M Y, H:i")
