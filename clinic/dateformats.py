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

# The month and weekday names of each language, short and full, looked up once (a name a date
# costs a translation).
_NAMES: dict[tuple[str | None, bool], tuple[list[str], list[str]]] = {}


def _names(*, full: bool = False) -> tuple[list[str], list[str]]:
    """The month names (January is 1) and weekday names (Monday is 0) of the current language:
    "Jan" and "Mon", or with ``full`` "January" and "Monday"."""
    key = (get_language(), full)
    names = _NAMES.get(key)
    if names is None:
        months = [""] + [str(MONTHS[month]) if full else str(MONTHS_3[month]).title() for month in range(1, 13)]
        weekdays = [str((WEEKDAYS if full else WEEKDAYS_ABBR)[day]) for day in range(7)]
        names = _NAMES[key] = (months, weekdays)
    return names


class Dates:
    """The formats below, bound once to the current language and time zone: a list that shows
    many dates makes one (``Dates()``) and formats each with it. Looking up the language and
    the zone costs twice as much as formatting a date; the module's functions of the same
    names make one for each date."""

    __slots__ = ("_months", "_weekdays", "_zone")

    def __init__(self) -> None:
        self._zone = timezone.get_current_timezone()
        self._months, self._weekdays = _names()

    def _local(self, value: datetime) -> datetime:
        # As the date filter does: an aware time is shown in the current (the clinic's) time zone.
        return value.astimezone(self._zone) if value.utcoffset() is not None else value

    def day_month_year(self, value: date | None) -> str:
        """``|date:"d M Y"``: "31 Jan 1985" (a date-time in the clinic's time zone); "" for None."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = self._local(value)
        return f"{value.day:02d} {self._months[value.month]} {value.year:04d}"

    def day_month_year_time(self, value: datetime | None) -> str:
        """``|date:"d M Y H:i"``: "31 Jan 2026 14:05" in the clinic's time zone."""
        if value is None:
            return ""
        value = self._local(value)
        return f"{value.day:02d} {self._months[value.month]} {value.year:04d} {value.hour:02d}:{value.minute:02d}"

    def day_month_time(self, value: datetime | None) -> str:
        """``|date:"d M H:i"``: "31 Jan 14:05" in the clinic's time zone."""
        if value is None:
            return ""
        value = self._local(value)
        return f"{value.day:02d} {self._months[value.month]} {value.hour:02d}:{value.minute:02d}"

    def weekday_day_month_year_time(self, value: datetime | None) -> str:
        """``|date:"D d M Y, H:i"``: "Sat 31 Jan 2026, 14:05" in the clinic's time zone."""
        if value is None:
            return ""
        value = self._local(value)
        return (
            f"{self._weekdays[value.weekday()]} {value.day:02d} {self._months[value.month]} {value.year:04d},"
            f" {value.hour:02d}:{value.minute:02d}"
        )

    def weekday_day_month_year(self, value: date | None) -> str:
        """``|date:"D d M Y"`` of a date: "Thu 31 Jan 1985"; "" for None."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = self._local(value)
        return f"{self._weekdays[value.weekday()]} {value.day:02d} {self._months[value.month]} {value.year:04d}"


def day_month_year(value: date | None) -> str:
    return Dates().day_month_year(value)


def day_month_year_time(value: datetime | None) -> str:
    return Dates().day_month_year_time(value)


def day_month_time(value: datetime | None) -> str:
    return Dates().day_month_time(value)


def weekday_day_month_year_time(value: datetime | None) -> str:
    return Dates().weekday_day_month_year_time(value)


def weekday_day_month_year(value: date | None) -> str:
    return Dates().weekday_day_month_year(value)


def day_month_name_year(value: date) -> str:
    """``|date:"j F Y"`` of a date: "5 January 2026"."""
    return f"{value.day} {_names(full=True)[0][value.month]} {value.year:04d}"


def weekday_day_month_name_year(value: date) -> str:
    """``|date:"l j F Y"`` of a date: "Monday 5 January 2026"."""
    months, weekdays = _names(full=True)
    return f"{weekdays[value.weekday()]} {value.day} {months[value.month]} {value.year:04d}"
