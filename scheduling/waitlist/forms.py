from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from clinic import dates
from clinic.forms import CrispyForm
from patients.models import Patient
from scheduling.availability import lunchtime
from scheduling.forms import TimeInput, practitioner_field, type_field
from scheduling.models import AppointmentType, WorkingHours

MAX_WAIT_DAYS = 183
DEFAULT_WAIT_DAYS = 28


class WaitlistAddForm(CrispyForm):
    patient = forms.ModelChoiceField(queryset=Patient.objects.active(), widget=forms.HiddenInput)
    appointment_type = type_field()
    practitioner = practitioner_field(required=False, empty_label="Any practitioner")
    date_from = dates.DateField(label="From", within=dates.SEARCH)
    date_to = dates.DateField(label="Until", within=dates.SEARCH)
    window_start = forms.TimeField(label="Earliest start", widget=TimeInput())
    window_end = forms.TimeField(label="Latest end", widget=TimeInput())
    weekdays = forms.TypedMultipleChoiceField(
        label="Only on these days",
        choices=WorkingHours.Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any day.",
    )
    notes = forms.CharField(
        label="Notes", max_length=200, required=False, help_text="Administrative notes only: no clinical information."
    )

    @classmethod
    def initial_for(cls, patient_id: int | None) -> dict:
        today = timezone.localdate()
        start, end = lunchtime()
        bookable = AppointmentType.objects.filter(is_active=True)
        default_type = bookable.filter(name="Consultation").first() or bookable.first()
        return {
            "patient": patient_id,
            "appointment_type": default_type.pk if default_type else None,
            "date_from": today,
            "date_to": today + timedelta(days=DEFAULT_WAIT_DAYS),
            "window_start": start,
            "window_end": end,
        }

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_to < date_from:
                self.add_error("date_to", "The last day must not be before the first.")
            elif date_to < timezone.localdate():
                self.add_error("date_to", "The last day is in the past.")
            elif (date_to - date_from).days > MAX_WAIT_DAYS:
                self.add_error("date_to", f"Wait at most {MAX_WAIT_DAYS} days at a time.")
        start, end = cleaned.get("window_start"), cleaned.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", "The latest end must be after the earliest start.")
        return cleaned
