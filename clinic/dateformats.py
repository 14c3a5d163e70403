"""Dates written as Django's ``|date`` filter writes them, for pages that show many (the plan
page's schedule and bookings): the filter builds a formatter object per value and costs several
times as much. Each function says the filter format it matches; datetimes are shown in the
current (the clinic's) time zone, as templates show them."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR


def _month(value: date) -> str:
    return str(MONTHS_3[value.month]).title()


def day_month_year(value: date) -> str:
    """``|date:"d M Y"`` of a date: "31 Jan 1985"."""
    return f"{value.day:02d} {_month(value)} {value.year:04d}"


def weekday_day_month_year(value: date) -> str:
    """``|date:"D d M Y"`` of a date: "Thu 31 Jan 1985"."""
    return f"{WEEKDAYS_ABBR[value.weekday()]} {day_month_year(value)}"


def local_day_month_year_time(value: datetime) -> str:
    """``|date:"d M Y H:i"`` of an aware datetime, in local time: "31 Jan 1985 14:05"."""
    local = timezone.localtime(value)
    return f"{day_month_year(local)} {local.hour:02d}:{local.minute:02d}"


def local_weekday_day_month_year_time(value: datetime) -> str:
    """``|date:"D d M Y, H:i"`` of an aware datetime, in local time: "Thu 31 Jan 1985, 14:05"."""
    local = timezone.localtime(value)
    return f"{weekday_day_month_year(local)}, {local.hour:02d}:{local.minute:02d}"
