"""Helpers for the panels that list rows read as plain values (a written-out statement, no
model instances): each row's link at the cost of one URL reversal, and its dates shown as
Django's ``date`` filter shows them at a fraction of its cost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import get_language

# Stand-ins for the ids, numbers no row has and that no other part of a URL contains.
_MARKERS = (918273645546372819, 928374655647382910, 938475665748392011)


def link_maker(viewname: str, arity: int = 1) -> Callable[..., str]:
    """A function of ``arity`` ids giving what ``reverse(viewname, args=ids)`` gives, for the
    rows of a list: one reversal for all of them. Make it within the request (the URL prefix
    is the request's)."""
    markers = _MARKERS[:arity]
    url = reverse(viewname, args=markers)
    parts = []
    for marker in markers:
        head, url = url.split(str(marker), 1)
        parts.append(head)
    parts.append(url)
    if arity == 1:
        head, tail = parts
        return lambda pk: f"{head}{pk}{tail}"

    def link(*ids) -> str:
        return "".join(part + str(pk) for part, pk in zip(parts, ids, strict=False)) + parts[-1]

    return link


# The month and weekday names of each language, looked up once (a name a date costs a translation).
_NAMES: dict[str | None, tuple[list[str], list[str]]] = {}


def _names() -> tuple[list[str], list[str]]:
    language = get_language()
    names = _NAMES.get(language)
    if names is None:
        months = [""] + [str(MONTHS_3[month]).title() for month in range(1, 13)]
        weekdays = [str(WEEKDAYS_ABBR[day]) for day in range(7)]
        names = _NAMES[language] = (months, weekdays)
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
