from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from clinic.forms import PlainForm
from fhirapi.models import SCOPE_CHOICES


class ApiTokenForm(PlainForm):
    name = forms.CharField(
        max_length=80, help_text="Who will use it, e.g. 'Lab results system'. Shown in the audit trail."
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="Give the narrowest set the client needs: patient/*.read reads every clinical record.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create token"))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name
