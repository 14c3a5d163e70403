from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic import dates
from clinic.forms import CrispyForm, CrispyModelForm, PlainForm
from patients.models import ConsentDocument, HistoryItem, Patient, SkinProfile
from patients.phones import normalize_phone
from patients.safety_rules import could_be_pregnant
from patients.signatures import SIGNATURE_MAX_BYTES, signature_clean_png, signature_from_data_url

OLDEST_PLAUSIBLE_AGE = 120


class PatientForm(CrispyModelForm):
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
        widgets = {"reception_notes": forms.Textarea(attrs={"rows": 3})}
        field_classes = {"date_of_birth": dates.date_field(dates.BIRTH)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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


class PatientSearchForm(PlainForm):
    q = forms.CharField(
        label="Search patients",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, phone, email or date of birth", "autofocus": True}),
    )
    archived = forms.BooleanField(label="Include archived patients", required=False)


class HistoryItemForm(CrispyModelForm):
    class Meta:
        model = HistoryItem
        fields = ["category", "code", "name", "details", "started_on", "ended_on", "status"]
        widgets = {
            "details": forms.Textarea(attrs={"rows": 3}),
        }
        field_classes = {"started_on": dates.date_field(dates.HISTORY), "ended_on": dates.date_field(dates.HISTORY)}

    def __init__(self, *args, revising: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if revising:
            self.fields["category"].disabled = True
        # The types grouped under their category: "Diabetes" is not offered as an allergy.
        self.fields["code"].choices = [("", "---------")] + [
            (label, [(code, HistoryItem.Code(code).label) for code in HistoryItem.CODES_BY_CATEGORY[category]])
            for category, label in HistoryItem.Category.choices
        ]
        self.fields["name"].required = False
        self.fields["name"].help_text += " Leave empty to use the type's name."

    def clean(self):
        cleaned = super().clean()
        category, code = cleaned.get("category"), cleaned.get("code")
        if code and not cleaned.get("name"):
            cleaned["name"] = HistoryItem.Code(code).label
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


class HistoryRowForm(PlainForm):
    """One entry of one category in the whole-history form: the type list holds only the
    category's own codes (the ones the safety rules read); the name may be left empty when the
    type says it all."""

    item = forms.IntegerField(widget=forms.HiddenInput, required=False)
    code = forms.ChoiceField(label="Type", required=False)
    name = forms.CharField(
        label="Name", max_length=200, required=False, help_text="Leave empty to use the type's name."
    )
    details = forms.CharField(
        label="Details", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 1})
    )
    started_on = dates.DateField(label="Since", required=False, within=dates.HISTORY)
    ended_on = dates.DateField(label="Until", required=False, within=dates.HISTORY)
    status = forms.ChoiceField(
        label="Status",
        choices=[(HistoryItem.Status.CURRENT, "Current"), (HistoryItem.Status.PAST, "Past (ended)")],
        initial=HistoryItem.Status.CURRENT,
    )
    remove = forms.BooleanField(label="Remove (entered in error)", required=False)

    def __init__(self, *args, category: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.category = category
        codes = HistoryItem.CODES_BY_CATEGORY[category]
        self.fields["code"].choices = [("", "—")] + [(code, HistoryItem.Code(code).label) for code in codes]
        self.fields["code"].error_messages["invalid_choice"] = (
            f"Choose one of the types of {HistoryItem.Category(category).label.lower()} in the list."
        )
        if not self.initial.get("item"):
            del self.fields["remove"]

    @property
    def is_blank_new_row(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("item") and not data.get("code") and not data.get("name") and not data.get("details")

    def clean(self):
        cleaned = super().clean()
        if self.is_blank_new_row or cleaned.get("remove"):
            return cleaned
        code = cleaned.get("code")
        if not code and "code" not in self.errors:
            self.add_error("code", "Choose the type.")
        if code and not cleaned.get("name"):
            cleaned["name"] = HistoryItem.Code(code).label
        started, ended = cleaned.get("started_on"), cleaned.get("ended_on")
        if started and started > timezone.localdate():
            self.add_error("started_on", "This date cannot be in the future.")
        if started and ended and ended < started:
            self.add_error("ended_on", "The end date must be on or after the start date.")
        return cleaned

    def item_fields(self) -> dict:
        data = self.cleaned_data
        fields = {name: data[name] for name in ("code", "name", "details", "started_on", "ended_on", "status")}
        return {"category": self.category, **fields}


class BaseHistoryRowFormSet(forms.BaseFormSet):
    def __init__(self, *args, category: str, **kwargs):
        self.category = category
        super().__init__(*args, prefix=category, form_kwargs={"category": category}, **kwargs)

    @property
    def label(self) -> str:
        return HistoryItem.PLURAL_LABELS[self.category]


HistoryRowFormSet = forms.formset_factory(
    HistoryRowForm, formset=BaseHistoryRowFormSet, extra=2, max_num=60, validate_max=True, absolute_max=60
)


def history_item_initial(item: HistoryItem) -> dict:
    return {
        "item": item.pk, "code": item.code, "name": item.name, "details": item.details,
        "started_on": item.started_on, "ended_on": item.ended_on, "status": item.status,
    }  # fmt: skip


class SkinProfileForm(CrispyModelForm):
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

    def __init__(self, *args, patient: Patient | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if patient is not None and not self.initial.get("pregnancy"):
            # Nothing unsafe by default: "not asked yet" (a warning until answered) for anyone who
            # could be pregnant, "not applicable" only for those who cannot.
            could = could_be_pregnant(patient, timezone.localdate())
            self.initial["pregnancy"] = SkinProfile.Pregnancy.UNKNOWN if could else SkinProfile.Pregnancy.NOT_APPLICABLE

    def profile_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class CurrentConsentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ConsentDocument) -> str:
        return f"{obj.title} (version {obj.version}, from {obj.effective_from:%d %b %Y})"


def _current_consent_field(**kwargs) -> CurrentConsentChoiceField:
    # The queryset is set per form: which version is current depends on today's date.
    return CurrentConsentChoiceField(
        queryset=ConsentDocument.objects.none(),
        error_messages={
            "invalid_choice": "This version of the consent text is no longer the current one: read the current text.",
            "required": "Choose the consent to sign.",
        },
        **kwargs,
    )


class ConsentChoiceForm(CrispyForm):
    """Which consent the patient is about to read and sign: only the current version of each
    procedure's text is offered."""

    document = _current_consent_field(label="Consent", empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = ConsentDocument.objects.current().order_by("procedure")


class ConsentSignForm(PlainForm):
    """The patient's signature on the tablet: a drawing on the pad and their typed full name."""

    document = _current_consent_field(widget=forms.HiddenInput)
    signature = forms.CharField(
        label="Signature",
        widget=forms.HiddenInput,
        required=False,
        max_length=(SIGNATURE_MAX_BYTES * 4) // 3 + 100,
        error_messages={"max_length": "The signature is too large: clear the pad and sign again."},
    )
    signed_name = forms.CharField(
        label="Your full name",
        max_length=200,
        help_text="Type your first and last name: this is the written form of your signature.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    witnessed_by = forms.ModelChoiceField(
        label="Witnessed by", queryset=get_user_model().objects.filter(is_active=True).order_by("last_name")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = ConsentDocument.objects.current()

    def clean_signature(self) -> bytes:
        return signature_clean_png(signature_from_data_url(self.cleaned_data["signature"]))

    def clean_signed_name(self) -> str:
        return " ".join(self.cleaned_data["signed_name"].split())


class ConsentWithdrawForm(PlainForm):
    reason = forms.CharField(label="Reason for withdrawal", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the consent is withdrawn.")
        return reason


# Erasure and retention (patients/erasure.py) ------------------------------------------------


class ErasureForm(CrispyForm):
    note = forms.CharField(
        label="How and when the patient asked",
        max_length=300,
        help_text="e.g. 'Email of 3 March', 'In person at the desk'. No clinical information.",
    )
    confirm = forms.BooleanField(label="I have checked the patient's identity and this is their request.")


class RetentionPurgeForm(PlainForm):
    confirm = forms.BooleanField(label="Purge this record and all its clinical data for good.")


# Import from another system's CSV file (patients/importing.py) --------------------------------


class ImportUploadForm(CrispyForm):
    file = forms.FileField(
        label="CSV file of patients",
        help_text="UTF-8 text, one patient per line, the first line naming the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )


class ImportMappingForm(CrispyForm):
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
