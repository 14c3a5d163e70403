"""Reading FHIR search parameters: typed parsers that raise BadParameter (a 400
OperationOutcome) for anything they cannot read, never a 500.

Dates follow the FHIR search rules: a value is a period (a year, a month, a day in the
clinic's zone, or an instant with its offset), a prefix compares the record's time to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from clinic.localtime import clock_reaches


class BadParameter(ValueError):
    """A search parameter the server cannot read: answered 400 with this message."""


DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
DATE_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?$")
INSTANT_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$")
REFERENCE_PATTERN = re.compile(r"^(?:(?P<type>[A-Z][A-Za-z]+)/)?(?P<id>[A-Za-z0-9\-.]{1,64})$")
SMALL_NUMBER = re.compile(r"[0-9]{1,9}")
MAX_COUNT = 200
DEFAULT_COUNT = 50


@dataclass(frozen=True)
class Period:
    """[start, end) as instants, and the same as local days [first_day, end_day)."""

    start: datetime
    end: datetime
    first_day: date
    end_day: date


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def parse_period(value: str) -> Period:
    try:
        return _parse_period(value)
    except OverflowError:
        raise BadParameter(f"'{value}' is out of range.") from None


def _parse_period(value: str) -> Period:
    match = DATE_PATTERN.match(value)
    if match:
        try:
            year = int(match["year"])
            first = date(year, int(match["month"] or 1), int(match["day"] or 1))
        except ValueError:
            raise BadParameter(f"'{value}' is not a date.") from None
        try:
            if match["day"]:
                end = first + timedelta(days=1)
            elif match["month"]:
                end = _next_month(first)
            else:
                end = date(year + 1, 1, 1)
        except ValueError:  # past year 9999
            raise OverflowError(value) from None
        return Period(clock_reaches(first, time.min), clock_reaches(end, time.min), first, end)
    if INSTANT_PATTERN.match(value):
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            raise BadParameter(f"'{value}' is not a date and time.") from None
        # A time given to the minute is that minute; to the second (or below), that second.
        clock = re.split(r"[Z+-]", value.partition("T")[2])[0]
        if clock.count(":") == 1:
            step, instant = timedelta(minutes=1), instant.replace(second=0, microsecond=0)
        else:
            step, instant = timedelta(seconds=1), instant.replace(microsecond=0)
        local_day = timezone.localtime(instant).date()
        return Period(instant, instant + step, local_day, local_day + timedelta(days=1))
    raise BadParameter(
        f"'{value}' is not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+hh:mm, "
        "optionally after a prefix (eq, ne, gt, lt, ge, le)."
    )


def date_filter(values: list[str], field: str, *, is_date: bool = False) -> Q:
    """``field`` compared to every value (FHIR ANDs repeated parameters)."""
    condition = Q()
    for raw in values:
        for value in _one_value(raw, "date"):
            prefix, text = "eq", value
            if value[:2].isalpha():
                prefix, text = value[:2], value[2:]
                if prefix not in DATE_PREFIXES:
                    raise BadParameter(
                        f"'{prefix}' is not a supported date prefix: use one of {', '.join(DATE_PREFIXES)}."
                    )
            period = parse_period(text)
            start, end = (period.first_day, period.end_day) if is_date else (period.start, period.end)
            inside = Q(**{f"{field}__gte": start, f"{field}__lt": end})
            condition &= {
                "eq": inside,
                "ne": ~inside,
                "gt": Q(**{f"{field}__gte": end}),
                "ge": Q(**{f"{field}__gte": start}),
                "lt": Q(**{f"{field}__lt": start}),
                "le": Q(**{f"{field}__lt": end}),
            }[prefix]
    return condition


def _one_value(raw: str, name: str) -> list[str]:
    """A date or number parameter: one value (a comma would be an OR, which we do not offer)."""
    if "," in raw:
        raise BadParameter(f"{name}: give one value per parameter (repeat the parameter to combine).")
    if not raw:
        raise BadParameter(f"{name}: the value is empty.")
    return [raw]


def token_values(values: list[str], name: str, allowed: set[str] | None = None) -> list[str]:
    """Comma-separated codes (an OR), each checked against ``allowed``; a ``system|`` is dropped."""
    codes: list[str] = []
    for raw in values:
        for part in raw.split(","):
            code = part.split("|")[-1].strip()
            if not code:
                raise BadParameter(f"{name}: the value is empty.")
            if allowed is not None and code not in allowed:
                raise BadParameter(f"{name}: '{code}' is not one of {', '.join(sorted(allowed))}.")
            codes.append(code)
    return codes


def reference_id(value: str, name: str, resource_type: str) -> str:
    """The id in ``Type/id`` or ``id`` (the type must be ``resource_type``)."""
    match = REFERENCE_PATTERN.match(value.strip())
    if not match or (match["type"] and match["type"] != resource_type):
        raise BadParameter(f"{name}: '{value}' is not a {resource_type} reference such as {resource_type}/12.")
    return match["id"]


def _small_number(value: str) -> int | None:
    """A whole number of at most 9 digits, written in ASCII ('²' is a digit to str.isdigit,
    not to int()); None for anything else, however long."""
    return int(value) if SMALL_NUMBER.fullmatch(value) else None


def integer_id(value: str) -> int | None:
    """A database id from a FHIR id: None when it cannot be one (then nothing matches)."""
    return _small_number(value)


def count_value(values: list[str]) -> int:
    if not values:
        return DEFAULT_COUNT
    count = _small_number(values[-1])
    if count is None or not 0 < count <= MAX_COUNT:
        raise BadParameter(f"_count: give a whole number from 1 to {MAX_COUNT}.")
    return count


def offset_value(values: list[str]) -> int:
    if not values:
        return 0
    offset = _small_number(values[-1])
    if offset is None:
        raise BadParameter("_offset: give a whole number of entries to skip, 0 or more.")
    return offset


def boolean_value(values: list[str], name: str) -> bool:
    value = values[-1]
    if value not in ("true", "false"):
        raise BadParameter(f"{name}: give true or false.")
    return value == "true"
