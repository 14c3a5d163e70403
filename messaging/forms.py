from django import forms

from messaging.models import ScheduledMessage


class CommunicationsFilterForm(forms.Form):
    day = forms.DateField(label="Due on", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(choices=[("", "Any kind"), *ScheduledMessage.Kind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *ScheduledMessage.Status.choices], required=False)
