"""The dates the clinic accepts, in one place, and the typed readers of dates and ids that
come in from outside (form fields, query parameters, URL parts).

Every date a person types has a range that makes sense for what it is. Outside it the
value is a form error (or a 400/404 page for a query parameter), never an exception: Python
dates stop at 0001-01-01 and 9999-12-31, so a year-1 or year-9999 date that the code then
moves by a day, turns into a week or converts to UTC would raise OverflowError. Every range
below lies far inside those limits, so code may add a few years to any date it accepted.

The ranges (``today`` is the clinic's local date, moved by time_machine in tests):

======================  ===========================  =======================================
What                    From                         To
======================  ===========================  =======================================
BIRTH                   1 Jan 1900 (and 120 years)   today
HISTORY (since/until)   1 Jan 1900                   today (an illness may predate the clinic)
RECORD (consultation,   RECORDS_START (1 Jan 2000)   today: a record of what happened is
session, recall date)                                never dated before the clinic kept records
                                                     nor after today
PLAN_START              RECORDS_START                today + 1 year
BOOKING (book, move,    today                        today + 2 years
course)
SEARCH (slot finder,    today - 31 days              today + 2 years (a stale link still
waiting list)                                        opens; the forms say what is past)
CALENDAR (browse)       today - 10 years             today + 5 years
PERIOD (report, audit,  RECORDS_START                today + 10 years
recall and message
filters)
======================  ===========================  =======================================

Ids: a database id is a positive integer of at most 19 digits within PostgreSQL's bigint;
anything else (letters, "١٢", 100,000 digits, 2**63) is "no such object" (404) as a URL part or
query parameter, and "Choose a valid ..." in a form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404
from django.utils import timezone

EARLIEST_BIRTH = date(1900, 1, 1)
# The first day the clinic (or the records it imported) can have a record of: no
# consultation, session or consent is older.
RECORDS_START = date(2000, 1, 1)

BIGINT_MAX = 2**63 - 1
_ID = re.compile(r"[1-9][0-9]{0,18}")


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (earlier when negative); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class DateRange:
    """The dates accepted for one kind of input, from ``earliest(today)`` to ``latest(today)``
    both included. ``what`` names the date in messages ("The date of birth"); ``too_early``
    and ``too_late``, when given, are the messages for a date before or after the range."""

    what: str
    earliest: Callable[[date], date]
    latest: Callable[[date], date]
    too_early: str = ""
    too_late: str = ""

    def bounds(self, today: date | None = None) -> tuple[date, date]:
        today = today or timezone.localdate()
        return self.earliest(today), self.latest(today)

    def __contains__(self, day: date) -> bool:
        earliest, latest = self.bounds()
        return earliest <= day <= latest

    def error(self, day: date) -> str:
        """Why ``day`` is refused, or "" when it is in the range."""
        today = timezone.localdate()
        earliest, latest = self.bounds(today)
        if earliest <= day <= latest:
            return ""
        if day < earliest and self.too_early:
            return self.too_early
        if day > latest and self.too_late:
            return self.too_late
        if day > latest == today:
            return f"{self.what} cannot be in the future."
        if day < earliest == today:
            return f"{self.what} cannot be in the past."
        return f"{self.what} must be from {_long(earliest)} to {_long(latest)}."

    def check(self, day: date) -> None:
        if message := self.error(day):
            raise ValidationError(message, code="date_out_of_range")

    def check_instant(self, instant: datetime) -> None:
        """The same check for a moment, by its local date; safe for any aware datetime (the
        zone conversion happens only once the date is known to be far from the limits)."""
        earliest, latest = self.bounds()
        rough = instant.replace(tzinfo=None).date()
        if not (earliest - timedelta(days=2) <= rough <= latest + timedelta(days=2)):
            self.check(rough)
        self.check(timezone.localtime(instant).date() if timezone.is_aware(instant) else rough)


OLDEST_PLAUSIBLE_AGE = 120
BIRTH = DateRange(
    "The date of birth",
    lambda today: max(EARLIEST_BIRTH, date(today.year - OLDEST_PLAUSIBLE_AGE, 1, 1)),
    lambda today: today,
    too_early=f"Check the year: the patient would be over {OLDEST_PLAUSIBLE_AGE} years old.",
)
HISTORY = DateRange("This date", lambda today: EARLIEST_BIRTH, lambda today: today)
RECORD = DateRange("This date", lambda today: RECORDS_START, lambda today: today)
PLAN_START = DateRange("The first session", lambda today: RECORDS_START, lambda today: years_after(today, 1))
BOOKING = DateRange("The appointment date", lambda today: today, lambda today: years_after(today, 2))
SEARCH = DateRange("The date", lambda today: today - timedelta(days=31), lambda today: years_after(today, 2))
CALENDAR = DateRange("The calendar date", lambda today: years_after(today, -10), lambda today: years_after(today, 5))
PERIOD = DateRange(
    "The date",
    lambda today: RECORDS_START,
    lambda today: years_after(today, 10),
    too_early=f"Choose a date from {RECORDS_START.year} on.",
)


# Form fields ------------------------------------------------------------------------------


class RangeDateInput(forms.DateInput):
    """The browser's date picker (ISO dates whatever the locale), its min and max the field's
    range on the day the page is shown."""

    input_type = "date"
    within: DateRange | None = None
    bound_formats = ("%Y-%m-%d", "%Y-%m-%d")

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs=attrs, format=format)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.within is not None:
            earliest, latest = self.within.bounds()
            context["widget"]["attrs"].setdefault("min", earliest.strftime(self.bound_formats[0]))
            context["widget"]["attrs"].setdefault("max", latest.strftime(self.bound_formats[1]))
        return context


class RangeDateTimeInput(RangeDateInput):
    input_type = "datetime-local"
    bound_formats = ("%Y-%m-%dT00:00", "%Y-%m-%dT23:59")

    def __init__(self, attrs=None, format="%Y-%m-%dT%H:%M"):
        super().__init__(attrs=attrs, format=format)


class _WithinRange:
    """A form field whose value must fall in ``within`` (checked by ``check_value``); its
    browser picker is given the range."""

    def __init__(self, *, within: DateRange, **kwargs):
        super().__init__(**kwargs)
        self.within = within
        if isinstance(self.widget, RangeDateInput):
            self.widget.within = within

    def check_value(self, value) -> None:
        raise NotImplementedError

    def validate(self, value) -> None:
        super().validate(value)
        if value not in self.empty_values:
            self.check_value(value)


class DateField(_WithinRange, forms.DateField):
    """A date within ``within``; outside it a form error that gives the range."""

    widget = RangeDateInput

    def check_value(self, value) -> None:
        self.within.check(value)


class DateTimeField(_WithinRange, forms.DateTimeField):
    """A local date and time within ``within`` (by its local date). A time the clocks skip or
    repeat is already a form error (Django's own check)."""

    widget = RangeDateTimeInput

    def check_value(self, value) -> None:
        self.within.check_instant(value)


def date_field(within: DateRange) -> Callable[..., DateField]:
    """For a model form's ``Meta.field_classes``: the model field's form field, within the range."""

    def build(**kwargs) -> DateField:
        return DateField(within=within, **kwargs)

    return build


def datetime_field(within: DateRange) -> Callable[..., DateTimeField]:
    def build(**kwargs) -> DateTimeField:
        return DateTimeField(within=within, **kwargs)

    return build


class IdField(forms.IntegerField):
    """A database id: 1 to bigint's largest; a long string of digits is refused before int()
    (Python refuses ints of over 4,300 digits with ValueError)."""

    widget = forms.HiddenInput
    default_error_messages = {"invalid": "This is not a valid reference: open the page again."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not _ID.fullmatch(value.strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


# Query parameters and URL parts ---------------------------------------------------------------


def parse_id(raw: str | None) -> int | None:
    """A positive id within bigint from text, or None."""
    if raw is None or not _ID.fullmatch(raw):
        return None
    number = int(raw)
    return number if number <= BIGINT_MAX else None


def id_param(params: Mapping[str, str], name: str) -> int | None:
    """The id in query parameter ``name``; None when absent or empty; 404 when it cannot be an id."""
    raw = params.get(name, "")
    if raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        raise Http404(f"No such {name}.")
    return number


def date_param(params: Mapping[str, str], name: str, *, within: DateRange, default: date | None = None) -> date | None:
    """The ISO date in query parameter ``name`` (``default`` when absent or empty); a date
    that does not exist or is outside ``within`` is a 400 that says why."""
    raw = params.get(name, "")
    if raw == "":
        return default
    field = DateField(within=within, required=False, input_formats=["%Y-%m-%d"])
    try:
        return field.clean(raw) or default
    except ValidationError as error:
        raise BadRequest(" ".join(error.messages)) from None
