from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clinic import dates
from clinic.forms import CrispyForm
from reports.selectors import Period

MAX_PERIOD_DAYS = 731  # two years: longer periods say little more and cost more
DEFAULT_PERIOD_DAYS = 91


class PeriodForm(CrispyForm):
    date_from = dates.DateField(label="From", within=dates.PERIOD)
    date_to = dates.DateField(label="To", within=dates.PERIOD)

    @classmethod
    def default_period(cls) -> Period:
        today = timezone.localdate()
        return Period(date_from=today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), date_to=today)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The end date must be on or after the start date.")
            elif (end - start).days + 1 > MAX_PERIOD_DAYS:
                self.add_error("date_to", f"Choose a period of at most {MAX_PERIOD_DAYS} days.")
            elif start > timezone.localdate() + timedelta(days=366):
                self.add_error("date_from", "The period must start within a year from today.")
        if start and start.year < 2000:
            self.add_error("date_from", "Choose a date from 2000 on.")
        return cleaned

    @property
    def period(self) -> Period:
        return Period(date_from=self.cleaned_data["date_from"], date_to=self.cleaned_data["date_to"])
