from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.timezone import localtime

from clinic import dates
from clinic.forms import CrispyForm, PlainForm
from clinic.localtime import AmbiguousLocalTime, NonexistentLocalTime, local_datetime
from patients.models import Patient
from scheduling.availability import lunchtime
from scheduling.models import AppointmentType, Practitioner, Room

MAX_SEARCH_DAYS = 62
SLOTS_PER_PAGE = 20
MAX_SLOTS_SHOWN = 400


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Practitioner) -> str:
        return obj.name


def practitioner_field(*, required: bool, empty_label: str | None = None) -> PractitionerChoiceField:
    return PractitionerChoiceField(
        queryset=Practitioner.objects.active().select_related("user"), required=required, empty_label=empty_label
    )


def type_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=AppointmentType.objects.filter(is_active=True), label="Appointment type")


def parse_instant(value: str, *, within: dates.DateRange = dates.CALENDAR) -> datetime:
    """A slot's start as put in links: ISO 8601 with its offset, so never ambiguous; on a
    day the calendars show (the booking service then refuses a day it cannot book)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise forms.ValidationError("The slot's time is not valid: choose it again from the slot finder.") from None
    if parsed.tzinfo is None:
        raise forms.ValidationError("The slot's time has no time zone: choose it again from the slot finder.")
    within.check_instant(parsed)
    return parsed.astimezone(UTC)


def combine_local(day, at: time) -> datetime:
    try:
        return local_datetime(day, at)
    except (NonexistentLocalTime, AmbiguousLocalTime) as error:
        raise forms.ValidationError(str(error)) from None


class SlotSearchForm(CrispyForm):
    WINDOWS = {
        "lunch": ("Lunchtime", None),
        "morning": ("Morning (before 12:00)", (time(7, 0), time(12, 0))),
        "afternoon": ("Afternoon (after 14:00)", (time(14, 0), time(20, 0))),
        "day": ("Any time of day", (time(0, 0), time(23, 59))),
    }

    patient = forms.ModelChoiceField(queryset=Patient.objects.active(), required=False, widget=forms.HiddenInput)
    appointment_type = type_field()
    practitioner = practitioner_field(required=False, empty_label="Any practitioner")
    date_from = dates.DateField(label="From", within=dates.SEARCH)
    date_to = dates.DateField(label="To", within=dates.SEARCH)
    window = forms.ChoiceField(label="Time of day", choices=[(key, label) for key, (label, _) in WINDOWS.items()])
    # How many slots to show: "show more" asks for the next page's worth on top.
    shown = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_SLOTS_SHOWN, widget=forms.HiddenInput,
        error_messages={"max_value": f"At most {MAX_SLOTS_SHOWN} slots are shown at once: search fewer days."},
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        start, end = lunchtime()
        self.WINDOWS = {**self.WINDOWS, "lunch": (f"Lunchtime ({start:%H:%M}-{end:%H:%M})", (start, end))}
        self.fields["window"].choices = [(key, label) for key, (label, _) in self.WINDOWS.items()]

    @classmethod
    def initial_for(cls, patient_id: int | None = None) -> dict:
        today = timezone.localdate()
        bookable = AppointmentType.objects.filter(is_active=True)
        default_type = bookable.filter(name="Consultation").first() or bookable.first()
        return {
            "patient": patient_id,
            "appointment_type": default_type.pk if default_type else None,
            "date_from": today,
            "date_to": today + timedelta(days=14),
            "window": "lunch",
        }

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_to < date_from:
                self.add_error("date_to", "The end of the search must not be before its start.")
            elif (date_to - date_from).days > MAX_SEARCH_DAYS:
                self.add_error("date_to", f"Search at most {MAX_SEARCH_DAYS} days at a time.")
        return cleaned

    @property
    def window_times(self) -> tuple[time, time]:
        return self.WINDOWS[self.cleaned_data["window"]][1]

    @property
    def slots_wanted(self) -> int:
        return self.cleaned_data.get("shown") or SLOTS_PER_PAGE


class SlotChoiceForm(CrispyForm):
    """A slot picked in the finder before the patient is known: the slot comes in hidden
    fields, the patient is searched for by ``q``."""

    practitioner = practitioner_field(required=True)
    appointment_type = type_field()
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True), required=False)
    start = forms.CharField()
    q = forms.CharField(
        label="Patient", max_length=100, required=False,
        help_text="Part of the name, a phone number, an email address or the date of birth.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("practitioner", "appointment_type", "room", "start"):
            self.fields[name].widget = forms.HiddenInput()

    def clean_start(self) -> datetime:
        return parse_instant(self.cleaned_data["start"])


class BookForm(CrispyForm):
    """The confirmation step of a booking: the slot comes in hidden fields from the finder."""

    patient = forms.ModelChoiceField(queryset=Patient.objects.active(), widget=forms.HiddenInput)
    practitioner = practitioner_field(required=True)
    appointment_type = type_field()
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True), required=False)
    start = forms.CharField(widget=forms.HiddenInput)
    notes = forms.CharField(
        label="Booking notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Administrative notes only: no clinical information.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("practitioner", "appointment_type", "room"):
            self.fields[name].widget = forms.HiddenInput()

    def clean_start(self) -> datetime:
        return parse_instant(self.cleaned_data["start"])


class MoveForm(CrispyForm):
    day = dates.DateField(label="New date", within=dates.BOOKING)
    at = forms.TimeField(label="New time", widget=TimeInput())
    practitioner = practitioner_field(required=True)
    start = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start"):
            # A slot picked from the list: its instant is exact, even at an ambiguous time.
            cleaned["starts_at"] = parse_instant(cleaned["start"])
        elif cleaned.get("day") and cleaned.get("at"):
            try:
                cleaned["starts_at"] = combine_local(cleaned["day"], cleaned["at"])
            except forms.ValidationError as error:
                self.add_error("at", error)
        return cleaned


class CancelForm(CrispyForm):
    reason = forms.CharField(label="Reason for cancelling", max_length=300)

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError("Give the reason for the cancellation.")
        return reason


class CourseForm(CrispyForm):
    practitioner = practitioner_field(required=True)
    appointment_type = type_field()
    first_day = dates.DateField(
        label="First session on", within=dataclasses.replace(dates.BOOKING, what="The first session")
    )
    at = forms.TimeField(label="At", widget=TimeInput())

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("first_day"), cleaned.get("at")
        if day and day < timezone.localdate():
            self.add_error("first_day", "The first session cannot be in the past.")
        elif day and at:
            try:
                combine_local(day, at)
            except forms.ValidationError as error:
                self.add_error("at", error)
        return cleaned


class DayForm(PlainForm):
    date = dates.DateField(required=False, within=dates.CALENDAR, input_formats=["%Y-%m-%d"])


class RecallSlotForm(PlainForm):
    """The slot a patient picked on the recall booking page: "<practitioner id>|<ISO start>",
    accepted only if it is one of the lunchtime slots the page may offer."""

    slot = forms.CharField(max_length=80, error_messages={"required": "Choose one of the times listed."})

    def __init__(self, *args, window_days: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.window_days = window_days

    def clean_slot(self) -> tuple[Practitioner, datetime]:
        practitioner_id, _, start = self.cleaned_data["slot"].partition("|")
        practitioner_id = dates.parse_id(practitioner_id)
        if practitioner_id is None:
            raise forms.ValidationError("Choose one of the times listed.")
        practitioner = Practitioner.objects.active().select_related("user").filter(pk=practitioner_id).first()
        if practitioner is None:
            raise forms.ValidationError("This practitioner no longer takes appointments: choose another time.")
        starts_at = parse_instant(start)
        local = localtime(starts_at)
        lunch_start, lunch_end = lunchtime()
        today = timezone.localdate()
        if not (lunch_start <= local.time() < lunch_end) or not (
            today <= local.date() <= today + timedelta(days=self.window_days)
        ):
            raise forms.ValidationError("Choose one of the lunchtime times listed.")
        return practitioner, starts_at


class GridDayForm(DayForm):
    """The day grid's query: the day, and in move mode the appointment being moved."""

    move = dates.IdField(required=False)


class GridCellForm(PlainForm):
    """A free cell of a grid, as its link gives it: who, when, and how long is free from there."""

    practitioner = practitioner_field(required=True)
    start = forms.CharField()
    free = forms.IntegerField(required=False, min_value=0, max_value=24 * 60)
    q = forms.CharField(required=False, max_length=100, label="Find the patient")

    def clean_start(self) -> datetime:
        return parse_instant(self.cleaned_data["start"])
