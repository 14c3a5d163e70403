"""The form base every app builds on: crispy forms rendered inside the page's own <form>
tag, the same text rules on every text box (clinic/text.py), the browser's date pickers, and a
service's ValidationError shown on the form."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from clinic import dates, text
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


# CharField subclasses whose value is not prose: left to their own validation.
NOT_TEXT_FIELDS = (forms.JSONField, forms.UUIDField)


def default_text_limit(name: str, field: forms.CharField) -> int:
    """The length limit of a text box that declares none (a model TextField, a CharField
    without max_length): a reason REASON_MAX, other multi-line text NOTE_MAX, one line LINE_MAX."""
    if "reason" in name:
        return text.REASON_MAX
    if isinstance(field.widget, forms.Textarea):
        return text.NOTE_MAX
    return text.LINE_MAX


def apply_text_rules(name: str, field: forms.Field, limit: int | None = None) -> None:
    """Give one CharField the clinic's text rules: invisible-only text is empty (so
    ``required`` fires), refused characters are a form error, and a length limit (``limit``,
    or the default for its kind) when it has none of its own. Safe to call twice."""
    if not isinstance(field, forms.CharField) or isinstance(field, NOT_TEXT_FIELDS):
        return
    if getattr(field, "text_rules", False) or isinstance(field.widget, forms.PasswordInput):
        return
    field.text_rules = True
    multiline = isinstance(field.widget, forms.Textarea)
    parse = field.to_python

    def to_python(value):
        value = parse(value)
        if isinstance(value, str):
            value = text.normalize_text(value, strip=field.strip) or field.empty_value
        return value

    field.to_python = to_python
    # Django's own NUL check says less than ours (which names the character).
    field.validators = [v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)]
    field.validators.append(text.TextValidator(multiline=multiline))
    if field.max_length is None:
        field.max_length = limit or default_text_limit(name, field)
        field.validators.append(text.TextMaxLengthValidator(field.max_length))
        field.widget.attrs.update(field.widget_attrs(field.widget))


class TextRulesMixin:
    """The clinic's text rules (clinic/text.py) on every CharField of the form, including
    fields added after ``__init__`` (they are covered when the form is cleaned). A form sets
    ``text_limits = {"field": characters}`` for a box without a length of its own whose
    default (``default_text_limit``) does not fit. Every form of the project derives from
    this (tests/clinic/test_text.py checks)."""

    text_limits: dict[str, int] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.apply_text_rules()

    def apply_text_rules(self) -> None:
        for name, field in self.fields.items():
            apply_text_rules(name, field, self.text_limits.get(name))

    def full_clean(self):
        self.apply_text_rules()
        super().full_clean()


class CrispyFormMixin(TextRulesMixin):
    """Rendered with crispy fields inside the template's own <form> (which holds the CSRF
    token and the buttons), with the clinic's text rules."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class PlainForm(TextRulesMixin, forms.Form):
    """A form its template lays out by hand (no crispy helper), with the clinic's text rules."""


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
