"""The text rules of clinic/text.py, on every form (issue 18: control characters, U+FFFD,
100,000-character reasons and a lone zero-width space stored as a required value)."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from clinic import text
from clinic.admin import ClinicModelAdmin
from clinic.forms import CrispyForm, PlainForm, TextRulesMixin
from patients.models import Patient
from tests.factories import SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, TreatmentPlanFactory
from treatments.models import SafetyOverride

# -- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("Ann\x00", "U+0000"),
        ("Ann\x01", "U+0001"),
        ("Ann\x1b[31m", "U+001B"),
        ("Ann\x7f", "U+007F"),
        ("Ann\x85", "U+0085"),
        ("Ann\ufffd", "U+FFFD"),
        ("Ann\ud800", "U+D800"),
        ("Ann\ufdd0", "U+FDD0"),
        ("Ann\U0001fffe", "U+1FFFE"),
        ("nnA\u202e", "U+202E"),
    ],
)
def test_refused_characters_are_named(value, named):
    for multiline in (True, False):
        problem = text.text_problem(value, multiline=multiline)
        assert problem
        assert named in problem


@pytest.mark.parametrize("value", ["line\nbreak", "carriage\rreturn", "tab\there", "para\u2029graph"])
def test_one_line_boxes_refuse_line_breaks_and_tabs(value):
    assert "one line" in text.text_problem(value, multiline=False)
    assert text.text_problem(value, multiline=True) is None


@pytest.mark.parametrize(
    "value",
    [
        "Zoë Núñez",
        "李小龍",
        "محمد\u200f علي",
        "Sam 🏳️\u200d🌈",
        "👩🏽\u200d⚕️ Dr",
        "Anne-Marie O'Neill",
        "क्\u200dष",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ],
)
def test_what_people_write_is_kept(value):
    assert text.text_problem(value, multiline=False) is None
    assert text.normalize_text(value) == value


@pytest.mark.parametrize(
    "value", ["\u200b", " \u200b\u200d\ufeff ", "\u2060", "\u3164", "\u2800", "\u00a0\u3000", "\u00ad"]
)
def test_invisible_only_text_is_empty(value):
    assert text.normalize_text(value) == ""


def test_invisible_characters_at_either_end_are_trimmed():
    assert text.normalize_text("\ufeffAnn\u200b") == "Ann"
    assert text.normalize_text("Ann\u200dMarie") == "Ann\u200dMarie"


# -- every form has them -----------------------------------------------------------------------


def project_form_classes() -> list[type]:
    """Every form class defined in the project's apps (their modules imported first)."""
    base = Path(settings.BASE_DIR).resolve()
    packages = [
        config.module
        for config in apps.get_app_configs()
        # The project's own apps: under the checkout, and not installed packages (a virtualenv
        # may live inside the checkout, as bin/setup makes it).
        if Path(config.path).resolve().is_relative_to(base) and "site-packages" not in Path(config.path).parts
    ]
    names = {package.__name__ for package in packages}
    for package in packages:
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in module.name or ".management" in module.name:
                continue
            importlib.import_module(module.name)
    found, pending = [], [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in names and not inspect.isabstract(cls):
            found.append(cls)
    return found


def test_every_form_of_the_project_has_the_text_rules():
    classes = project_form_classes()
    assert CrispyForm in classes
    assert len(classes) > 30
    missing = [f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not issubclass(cls, TextRulesMixin)]
    assert not missing, "derive these from clinic.forms.CrispyForm/CrispyModelForm/PlainForm: " + ", ".join(missing)


def test_every_admin_form_a_manager_reaches_has_the_text_rules():
    for model_admin in admin.site._registry.values():
        if not isinstance(model_admin, ClinicModelAdmin):
            continue  # Django's own accounts and device admins: superusers only (clinic/admin.py)
        assert issubclass(model_admin.form, TextRulesMixin), model_admin
        for inline in model_admin.inlines:
            assert issubclass(inline.form, TextRulesMixin), inline


class NotesForm(PlainForm):
    name = forms.CharField()
    cancel_reason = forms.CharField(widget=forms.Textarea)
    notes = forms.CharField(widget=forms.Textarea, required=False)
    custom = forms.CharField(required=False)
    text_limits = {"custom": 10}


def test_lengths_default_by_kind_of_box():
    form = NotesForm()
    assert form.fields["name"].max_length == text.LINE_MAX
    assert form.fields["cancel_reason"].max_length == text.REASON_MAX
    assert form.fields["notes"].max_length == text.NOTE_MAX
    assert form.fields["custom"].max_length == 10
    assert 'maxlength="20000"' in str(form["notes"])


def test_a_field_added_after_init_is_covered():
    form = NotesForm(data={"name": "Ann", "cancel_reason": "ok", "late": "\x1b"})
    form.fields["late"] = forms.CharField()
    assert not form.is_valid()
    assert "U+001B" in form.errors["late"][0]


def test_multi_line_notes_keep_windows_line_ends_and_tabs():
    form = NotesForm(data={"name": "Ann", "cancel_reason": "ok", "notes": "one\r\n\ttwo\r\nthree"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["notes"] == "one\r\n\ttwo\r\nthree"


# -- through the pages ------------------------------------------------------------------------

pytestmark = pytest.mark.django_db

PATIENT = {
    "first_name": "Zoë", "last_name": "Núñez", "date_of_birth": "1988-04-12", "sex": "female",
    "phone": "07400 100456", "preferred_contact_channel": "phone",
}  # fmt: skip


@pytest.mark.parametrize(("first_name", "message"), [("\u200b", "This field is required."), ("Zo\x01ë", "U+0001")])
def test_a_patient_name_must_be_visible_text(receptionist_client, first_name, message):
    response = receptionist_client.post(reverse("patients:register"), {**PATIENT, "first_name": first_name})
    assert message in response.context["form"].errors["first_name"][0]
    assert not Patient.objects.exists()


def test_a_patient_name_with_an_emoji_is_fine(receptionist_client):
    response = receptionist_client.post(reverse("patients:register"), {**PATIENT, "last_name": "Núñez 🌸"})
    assert response.status_code == 302
    assert Patient.objects.get().last_name == "Núñez 🌸"


def test_a_cancellation_reason_is_at_most_a_thousand_characters(doctor_client):
    plan = ActivePlanFactory()
    cancel = reverse("treatments:plan_cancel", args=[plan.patient.pk, plan.pk])
    response = doctor_client.post(cancel, {"reason": "x" * 100_000})
    assert response.status_code == 400
    assert "Keep this under 1000 characters (it has 100000)." in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "active"
    response = doctor_client.post(cancel, {"reason": "x" * 1000})
    plan.refresh_from_db()
    assert plan.status == "cancelled"


def test_a_zero_width_space_is_no_reason_to_override_a_blocking_finding(doctor_client):
    plan = TreatmentPlanFactory()
    SkinProfileFactory(patient=plan.patient, pregnancy="pregnant")
    activate = reverse("treatments:plan_activate", args=[plan.patient.pk, plan.pk])
    response = doctor_client.post(activate, {"override_0": "\u200b"})
    assert response.status_code == 400
    plan.refresh_from_db()
    assert plan.status == "proposed"
    assert not SafetyOverride.objects.exists()
