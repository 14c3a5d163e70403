from django import forms

from clinic import dates
from clinic.forms import CrispyForm
from messaging.models import ScheduledMessage


class CommunicationsFilterForm(CrispyForm):
    day = dates.DateField(label="Due on", required=False, within=dates.PERIOD)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *ScheduledMessage.Kind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *ScheduledMessage.Status.choices], required=False)
