"""The questionnaire the patient fills in (public page) and the doctor's decision on an answer."""

from __future__ import annotations

import unicodedata

from django import forms

from clinic.forms import PlainForm
from intake import questions
from patients.models import HistoryItem, SkinProfile

SHORT_TEXT = 200
LONG_TEXT = 2000
DRAFT, SUBMIT = "draft", "submit"


def refuse_control_characters(value: str, *, multiline: bool) -> str:
    allowed = {"\n", "\r", "\t"} if multiline else {"\t"}
    for char in value:
        if char not in allowed and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"}:
            raise forms.ValidationError(
                "This answer holds an invisible control character (perhaps from copying and pasting): "
                "retype it, please."
            )
    return value


class PatientText(forms.CharField):
    """Free text from the patient: trimmed, limited in length, no control characters."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", LONG_TEXT if multiline else SHORT_TEXT)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}) if multiline else forms.TextInput)
        kwargs.setdefault(
            "error_messages",
            {"max_length": "Please keep this answer under %(limit_value)d characters (it has %(show_value)d)."},
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return refuse_control_characters(value, multiline=self.multiline)


def _radio(choices, label: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=choices, required=False, widget=forms.RadioSelect)


class QuestionnaireForm(PlainForm):
    """One page, every question optional while saving a draft; sending it to the clinic asks
    for the pregnancy answer, a name for every "something else", and the confirmation."""

    action = forms.ChoiceField(choices=[(DRAFT, "Save draft"), (SUBMIT, "Send")], widget=forms.HiddenInput)
    pregnancy = _radio(questions.PREGNANCY_CHOICES, "Are you pregnant, breastfeeding or trying to conceive?")
    cleanser = PatientText(label="Which cleanser do you use?")
    actives = forms.MultipleChoiceField(
        label="Do you use any of these on your face?",
        choices=SkinProfile.Active.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    sunscreen_use = _radio(SkinProfile.Frequency.choices, "How often do you wear sunscreen?")
    routine_notes = PatientText(multiline=True, label="Anything else in your skin routine?")
    sun_exposure = _radio(SkinProfile.Level.choices, "How much time do you spend in the sun?")
    smoking = _radio(
        [(SkinProfile.Smoking.NEVER, "Never"), (SkinProfile.Smoking.FORMER, "I used to"),
         (SkinProfile.Smoking.CURRENT, "Yes")],
        "Do you smoke?",
    )  # fmt: skip
    stress = _radio(SkinProfile.Level.choices, "How would you rate your stress level?")
    lifestyle_notes = PatientText(multiline=True, label="Anything else about your lifestyle (sleep, sport, diet)?")
    confirm = forms.BooleanField(label="My answers are complete and true to the best of my knowledge.", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for category, codes in HistoryItem.CODES_BY_CATEGORY.items():
            wording = questions.SECTIONS[category]
            for code in codes:
                self.fields[questions.tick_field(category, code)] = forms.BooleanField(
                    label=questions.WORDING[code], required=False
                )
                label = questions.OTHER_LABEL if code == HistoryItem.Code.OTHER else wording["details"]
                # Read aloud with the box it belongs to, as a sighted patient sees it under the box.
                self.fields[questions.details_field(category, code)] = PatientText(
                    label=label, widget=forms.TextInput(attrs={"aria-label": f"{questions.WORDING[code]}: {label}"})
                )

    def sections(self) -> list[dict]:
        """The history questions, grouped for the template: each tick box with its text box."""
        grouped = []
        for category, codes in HistoryItem.CODES_BY_CATEGORY.items():
            rows = [
                (self[questions.tick_field(category, code)], self[questions.details_field(category, code)])
                for code in codes
            ]
            grouped.append({"category": category, **questions.SECTIONS[category], "rows": rows})
        return grouped

    @property
    def submitting(self) -> bool:
        return self.cleaned_data.get("action") == SUBMIT

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") != SUBMIT:
            return cleaned
        if not cleaned.get("pregnancy"):
            self.add_error("pregnancy", "Please answer this question (choose “This does not apply to me” if so).")
        for category in HistoryItem.CODES_BY_CATEGORY:
            other = questions.tick_field(category, HistoryItem.Code.OTHER)
            other_details = questions.details_field(category, HistoryItem.Code.OTHER)
            if cleaned.get(other) and not cleaned.get(other_details) and other_details not in self.errors:
                self.add_error(other_details, "You ticked “Something else”: please say what it is.")
        if not cleaned.get("confirm"):
            self.add_error("confirm", "Please confirm your answers before sending them.")
        return cleaned

    def answers(self) -> dict:
        """What to keep as the draft: every answer, without the buttons and the confirmation."""
        return {name: value for name, value in self.cleaned_data.items() if name not in {"action", "confirm"}}


class AnswerDecisionForm(PlainForm):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
