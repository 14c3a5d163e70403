"""The form base every app uses: crispy helper, date inputs, a service's errors on the form."""

import datetime

from django import forms
from django.core.exceptions import ValidationError

from clinic.forms import CrispyForm, DateInput, DateTimeInput, add_service_errors, service_error_text


class _ReasonForm(CrispyForm):
    reason = forms.CharField()
    on = forms.DateField(widget=DateInput())


def _bound() -> _ReasonForm:
    form = _ReasonForm({"reason": "ok", "on": "2026-03-01"})
    assert form.is_valid()
    return form


def test_crispy_form_renders_inside_the_page_form():
    assert _ReasonForm().helper.form_tag is False


def test_date_inputs_use_the_browser_pickers_with_iso_values():
    html = DateInput().render("on", datetime.date(2026, 3, 1))
    assert 'type="date"' in html
    assert 'value="2026-03-01"' in html
    html = DateTimeInput().render("at", datetime.datetime(2026, 3, 1, 12, 30))  # noqa: DTZ001 - a form value
    assert 'type="datetime-local"' in html
    assert 'value="2026-03-01T12:30"' in html


def test_service_error_on_a_field_of_the_form_goes_on_that_field():
    form = _bound()
    add_service_errors(form, ValidationError({"reason": "Say why."}))
    assert form.errors["reason"] == ["Say why."]
    assert not form.non_field_errors()


def test_service_error_on_a_field_the_form_lacks_goes_on_top():
    form = _bound()
    add_service_errors(form, ValidationError({"batches": ["Lot A expired.", "Lot B recalled."]}))
    assert form.non_field_errors() == ["Lot A expired.", "Lot B recalled."]


def test_plain_service_error_goes_on_top():
    form = _bound()
    add_service_errors(form, ValidationError(["This slot was just taken.", "Choose another."]))
    assert form.non_field_errors() == ["This slot was just taken.", "Choose another."]
    assert service_error_text(ValidationError(["One.", "Two."])) == "One. Two."
