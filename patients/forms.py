from __future__ import annotations

from datetime import date

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from patients.models import ConsentDocument, HistoryItem, Patient, SkinProfile
from patients.phones import normalize_phone

OLDEST_PLAUSIBLE_AGE = 120


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class PatientForm(forms.ModelForm):
    confirm_not_duplicate = forms.BooleanField(
        label="I have checked the possible duplicates: this is a different person.", required=False
    )

    class Meta:
        model = Patient
        fields = [
            "first_name", "last_name", "date_of_birth", "sex", "phone", "email", "address_line1",
            "address_line2", "city", "postcode", "country", "emergency_contact_name",
            "emergency_contact_relationship", "emergency_contact_phone", "preferred_contact_channel",
            "reminder_emails_consent", "reception_notes",
        ]  # fmt: skip
        widgets = {"date_of_birth": DateInput(format="%Y-%m-%d"), "reception_notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        if self.instance.pk:
            del self.fields["confirm_not_duplicate"]

    def clean_first_name(self) -> str:
        return " ".join(self.cleaned_data["first_name"].split())

    def clean_last_name(self) -> str:
        return " ".join(self.cleaned_data["last_name"].split())

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("The date of birth cannot be in the future.")
        if born.year < today.year - OLDEST_PLAUSIBLE_AGE or born.year < 1900:
            raise forms.ValidationError(f"Check the year: the patient would be over {OLDEST_PLAUSIBLE_AGE} years old.")
        return born

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize_phone(raw) if raw else ""

    def clean_emergency_contact_phone(self) -> str:
        raw = self.cleaned_data["emergency_contact_phone"].strip()
        return normalize_phone(raw) if raw else ""

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        channel = cleaned.get("preferred_contact_channel")
        if channel == Patient.ContactChannel.EMAIL and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", "An email address is needed when email is the preferred contact channel.")
        needs_phone = channel in {Patient.ContactChannel.PHONE, Patient.ContactChannel.SMS}
        if needs_phone and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "A phone number is needed for the preferred contact channel.")
        if cleaned.get("reminder_emails_consent") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", "An email address is needed to send reminder emails.")
        return cleaned

    def patient_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Search patients",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, phone, email or date of birth", "autofocus": True}),
    )
    archived = forms.BooleanField(label="Include archived patients", required=False)


class HistoryItemForm(forms.ModelForm):
    class Meta:
        model = HistoryItem
        fields = ["category", "code", "name", "details", "started_on", "ended_on", "status"]
        widgets = {
            "started_on": DateInput(format="%Y-%m-%d"),
            "ended_on": DateInput(format="%Y-%m-%d"),
            "details": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, revising: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        if revising:
            self.fields["category"].disabled = True

    def clean(self):
        cleaned = super().clean()
        category, code = cleaned.get("category"), cleaned.get("code")
        if category and code and code not in HistoryItem.CODES_BY_CATEGORY[category]:
            self.add_error(
                "code",
                f"'{HistoryItem.Code(code).label}' is not a type of {HistoryItem.Category(category).label.lower()}.",
            )
        started, ended = cleaned.get("started_on"), cleaned.get("ended_on")
        today = timezone.localdate()
        if started and started > today:
            self.add_error("started_on", "This date cannot be in the future.")
        if started and ended and ended < started:
            self.add_error("ended_on", "The end date must be on or after the start date.")
        return cleaned

    def item_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class SkinProfileForm(forms.ModelForm):
    concerns = forms.MultipleChoiceField(
        choices=SkinProfile.Concern.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Skin concerns"
    )
    actives = forms.MultipleChoiceField(
        choices=SkinProfile.Active.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Active products used",
    )

    class Meta:
        model = SkinProfile
        fields = [
            "fitzpatrick_type", "concerns", "pregnancy", "cleanser", "actives", "sunscreen_use", "routine_notes",
            "sun_exposure", "smoking", "stress", "lifestyle_notes",
        ]  # fmt: skip
        widgets = {
            "routine_notes": forms.Textarea(attrs={"rows": 2}),
            "lifestyle_notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def profile_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class ConsentForm(forms.Form):
    document = forms.ModelChoiceField(
        label="Consent", queryset=ConsentDocument.objects.order_by("procedure", "-version"), empty_label=None
    )
    given_at = forms.DateTimeField(label="Given at", widget=DateTimeInput(format="%Y-%m-%dT%H:%M"))
    witnessed_by = forms.ModelChoiceField(
        label="Witnessed by", queryset=get_user_model().objects.filter(is_active=True).order_by("last_name")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_given_at(self):
        given_at = self.cleaned_data["given_at"]
        if given_at > timezone.now():
            raise forms.ValidationError("Consent cannot be recorded as given in the future.")
        return given_at


class ConsentWithdrawForm(forms.Form):
    reason = forms.CharField(label="Reason for withdrawal", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the consent is withdrawn.")
        return reason


# Erasure and retention (patients/erasure.py) ------------------------------------------------


class ErasureForm(forms.Form):
    note = forms.CharField(
        label="How and when the patient asked",
        max_length=300,
        help_text="e.g. 'Email of 3 March', 'In person at the desk'. No clinical information.",
    )
    confirm = forms.BooleanField(label="I have checked the patient's identity and this is their request.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class RetentionPurgeForm(forms.Form):
    confirm = forms.BooleanField(label="Purge this record and all its clinical data for good.")


# Import from another system's CSV file (patients/importing.py) --------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file of patients",
        help_text="UTF-8 text, one patient per line, the first line naming the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class ImportMappingForm(forms.Form):
    """One choice per field: which column of the file holds it."""

    def __init__(self, *args, headers: list[str], fields: dict[str, str], required: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— not in the file —")] + [
            (str(index), f"Column {index + 1}: {header or '(no name)'}") for index, header in enumerate(headers)
        ]
        for name, label in fields.items():
            self.fields[name] = forms.TypedChoiceField(
                label=f"{label}{' (required)' if name in required else ''}",
                choices=choices,
                coerce=int,
                empty_value=None,
                required=name in required,
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
