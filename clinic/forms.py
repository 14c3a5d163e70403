from django import forms
from django.contrib.auth import get_user_model

from clinic.models import AuditEntry


class AuditFilterForm(forms.Form):
    patient = forms.IntegerField(label="Patient number", required=False, min_value=1)
    user = forms.ModelChoiceField(
        label="Staff member", queryset=get_user_model().objects.order_by("username"), required=False
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditEntry.Action.choices], required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned
