from django import forms

from clinic.forms import CrispyForm, DateInput
from messaging.models import ScheduledMessage


class CommunicationsFilterForm(CrispyForm):
    day = forms.DateField(label="Due on", required=False, widget=DateInput())
    kind = forms.ChoiceField(choices=[("", "Any kind"), *ScheduledMessage.Kind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *ScheduledMessage.Status.choices], required=False)
