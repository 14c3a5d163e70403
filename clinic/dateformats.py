"""Dates written as Django's ``date`` filter writes them, for pages that show many (the panels of
the patient page, the plan page's schedule and bookings, the search page's rows): the filter
builds a formatter object a value and costs several times as much. Each function names the
filter format it matches; a date-time is shown in the current (the clinic's) time zone, as
templates show it. Month and weekday names are looked up once per language."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import get_language

# The month and weekday names of each language, looked up once (a name a date costs a translation).
_NAMES: dict[str | None, tuple[list[str], list[str]]] = {}
_FULL_NAMES: dict[str | None, tuple[list[str], list[str]]] = {}


def _names() -> tuple[list[str], list[str]]:
    language = get_language()
    names = _NAMES.get(language)
    if names is None:
        months = [""] + [str(MONTHS_3[month]).title() for month in range(1, 13)]
        weekdays = [str(WEEKDAYS_ABBR[day]) for day in range(7)]
        names = _NAMES[language] = (months, weekdays)
    return names


def _full_names() -> tuple[list[str], list[str]]:
    language = get_language()
    names = _FULL_NAMES.get(language)
    if names is None:
        months = [""] + [str(MONTHS[month]) for month in range(1, 13)]
        weekdays = [str(WEEKDAYS[day]) for day in range(7)]
        names = _FULL_NAMES[language] = (months, weekdays)
    return names


def _local(value: datetime) -> datetime:
    # As the date filter does: an aware time is shown in the current (the clinic's) time zone.
    return timezone.localtime(value) if timezone.is_aware(value) else value


def day_month_year(value: date | None) -> str:
    """``|date:"d M Y"``: "31 Jan 1985" (a date-time in the clinic's time zone); "" for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    return f"{value.day:02d} {_names()[0][value.month]} {value.year:04d}"


def day_month_year_time(value: datetime | None) -> str:
    """``|date:"d M Y H:i"``: "31 Jan 2026 14:05" in the clinic's time zone."""
    if value is None:
        return ""
    value = _local(value)
    return f"{value.day:02d} {_names()[0][value.month]} {value.year:04d} {value.hour:02d}:{value.minute:02d}"


def day_month_time(value: datetime | None) -> str:
    """``|date:"d M H:i"``: "31 Jan 14:05" in the clinic's time zone."""
    if value is None:
        return ""
    value = _local(value)
    return f"{value.day:02d} {_names()[0][value.month]} {value.hour:02d}:{value.minute:02d}"


def weekday_day_month_year_time(value: datetime | None) -> str:
    """``|date:"D d M Y, H:i"``: "Sat 31 Jan 2026, 14:05" in the clinic's time zone."""
    if value is None:
        return ""
    value = _local(value)
    months, weekdays = _names()
    return (
        f"{weekdays[value.weekday()]} {value.day:02d} {months[value.month]} {value.year:04d},"
        f" {value.hour:02d}:{value.minute:02d}"
    )


def weekday_day_month_year(value: date | None) -> str:
    """``|date:"D d M Y"`` of a date: "Thu 31 Jan 1985"; "" for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    months, weekdays = _names()
    return f"{weekdays[value.weekday()]} {value.day:02d} {months[value.month]} {value.year:04d}"


def day_month_name_year(value: date) -> str:
    """``|date:"j F Y"`` of a date: "5 January 2026"."""
    return f"{value.day} {_full_names()[0][value.month]} {value.year:04d}"


def weekday_day_month_name_year(value: date) -> str:
    """``|date:"l j F Y"`` of a date: "Monday 5 January 2026"."""
    months, weekdays = _full_names()
    return f"{weekdays[value.weekday()]} {value.day} {months[value.month]} {value.year:04d}"
