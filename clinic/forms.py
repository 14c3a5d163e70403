"""The form base every app builds on: crispy forms rendered inside the page's own <form>
tag, the browser's date pickers, and a service's ValidationError shown on the form."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from clinic import dates
from clinic.models import AuditEntry


class DateInput(forms.DateInput):
    """The browser's date picker; it reads and writes ISO dates whatever the locale."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs=attrs, format=format)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None, format="%Y-%m-%dT%H:%M"):
        super().__init__(attrs=attrs, format=format)


class CrispyFormMixin:
    """Rendered with crispy fields inside the template's own <form> (which holds the CSRF
    token and the buttons)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class CrispyForm(CrispyFormMixin, forms.Form):
    pass


class CrispyModelForm(CrispyFormMixin, forms.ModelForm):
    pass


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: each message on its field when the form
    has that field, otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def service_error_text(error: ValidationError) -> str:
    """A service's ValidationError as one sentence, for a flash message after a POST."""
    return " ".join(error.messages)


class AuditFilterForm(CrispyForm):
    patient = forms.IntegerField(label="Patient number", required=False, min_value=1)
    user = forms.ModelChoiceField(
        label="Staff member", queryset=get_user_model().objects.order_by("username"), required=False
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditEntry.Action.choices], required=False)
    outcome = forms.ChoiceField(choices=[("", "Any outcome"), *AuditEntry.Outcome.choices], required=False)
    date_from = dates.DateField(label="From", required=False, within=dates.PERIOD)
    date_to = dates.DateField(label="To", required=False, within=dates.PERIOD)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned
