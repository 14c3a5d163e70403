"""The whole medical history in one form: a type list per category, current entries filled
in, a new version only for what changed."""

import datetime

import pytest
from django.urls import reverse

from clinic.audit import Actor
from patients.models import HistoryItem
from patients.services import history_item_revise
from tests.factories import HistoryItemFactory, PatientFactory

pytestmark = pytest.mark.django_db
Category, Code, Status = HistoryItem.Category, HistoryItem.Code, HistoryItem.Status


@pytest.fixture
def patient(doctor):
    patient = PatientFactory()
    HistoryItemFactory(patient=patient, recorded_by=doctor, category=Category.ALLERGY, code=Code.LATEX, name="Latex")
    HistoryItemFactory(
        patient=patient, recorded_by=doctor, category=Category.MEDICATION, code=Code.ANTICOAGULANT, name="Warfarin"
    )
    HistoryItemFactory(
        patient=patient, recorded_by=doctor, category=Category.CONDITION, code=Code.HERPES, name="Cold sores"
    )
    return patient


def edit_url(patient) -> str:
    return reverse("patients:history_edit", args=[patient.pk])


def form_data(client, patient) -> dict:
    """What the browser would send back untouched: every formset's rows as shown."""
    response = client.get(edit_url(patient))
    assert response.status_code == 200
    data = {}
    for formset in response.context["formsets"]:
        for name, field in formset.management_form.fields.items():
            data[f"{formset.prefix}-{name}"] = formset.management_form.initial.get(name, field.initial)
        for form in formset.forms:
            for name in form.fields:
                value = form.initial.get(name, form.fields[name].initial)
                if value is None or value is False:
                    continue
                data[form.add_prefix(name)] = value.isoformat() if isinstance(value, datetime.date) else value
    return data


def row_of(data: dict, category: str, name: str) -> str:
    """The prefix of the row showing ``name`` in ``category``."""
    for key, value in data.items():
        if key.startswith(f"{category}-") and key.endswith("-name") and value == name:
            return key.removesuffix("-name")
    raise AssertionError(f"no row for {name}")


def test_each_category_offers_only_its_own_types_and_current_entries_are_filled_in(doctor_client, patient):
    response = doctor_client.get(edit_url(patient))
    formsets = {formset.category: formset for formset in response.context["formsets"]}
    allergy_codes = {value for value, _ in formsets[Category.ALLERGY].forms[0].fields["code"].choices if value}
    assert allergy_codes == set(HistoryItem.CODES_BY_CATEGORY[Category.ALLERGY])
    assert Code.DIABETES not in allergy_codes
    assert formsets[Category.MEDICATION].forms[0].initial["name"] == "Warfarin"
    body = response.content.decode()
    assert "Allergies" in body
    assert "Previous aesthetic treatments" in body


def test_medical_history_headings_use_the_plural_labels(doctor_client, patient):
    body = doctor_client.get(reverse("patients:medical_history", args=[patient.pk])).content.decode()
    assert "Allergies</h2>" in body
    assert "Allergys" not in body
    assert "Medications</h2>" in body


def test_saving_writes_new_versions_only_for_what_changed(doctor_client, patient):
    latex = patient.history_items.get(code=Code.LATEX)
    warfarin = patient.history_items.get(code=Code.ANTICOAGULANT)
    herpes = patient.history_items.get(code=Code.HERPES)
    data = form_data(doctor_client, patient)
    data[f"{row_of(data, 'medication', 'Warfarin')}-details"] = "5 mg daily"
    data[f"{row_of(data, 'condition', 'Cold sores')}-remove"] = "on"
    new_row = f"{Category.PREVIOUS_TREATMENT}-0"
    data[f"{new_row}-code"] = Code.BOTULINUM_TOXIN  # the name left empty: the type's name is used

    response = doctor_client.post(edit_url(patient), data)

    assert response.status_code == 302, response.context and response.context.get("problem")
    latex.refresh_from_db()
    assert latex.superseded_at is None
    assert latex.version == 1
    assert HistoryItem.objects.filter(lineage=latex.lineage).count() == 1
    new_warfarin = HistoryItem.objects.current().get(lineage=warfarin.lineage)
    assert (new_warfarin.version, new_warfarin.details, new_warfarin.name) == (2, "5 mg daily", "Warfarin")
    removed = HistoryItem.objects.current().get(lineage=herpes.lineage)
    assert (removed.version, removed.status) == (2, Status.ENTERED_IN_ERROR)
    added = patient.history_items.get(category=Category.PREVIOUS_TREATMENT)
    assert (added.code, added.name, added.version) == (Code.BOTULINUM_TOXIN, "Botulinum toxin", 1)


def test_saving_unchanged_form_writes_nothing(doctor_client, patient):
    before = set(HistoryItem.objects.values_list("pk", "superseded_at"))
    response = doctor_client.post(edit_url(patient), form_data(doctor_client, patient))
    assert response.status_code == 302
    assert set(HistoryItem.objects.values_list("pk", "superseded_at")) == before


def test_a_new_entry_without_a_type_is_refused_and_nothing_is_saved(doctor_client, patient):
    data = form_data(doctor_client, patient)
    data[f"{row_of(data, 'medication', 'Warfarin')}-details"] = "5 mg daily"
    data[f"{Category.ALLERGY}-1-name"] = "Penicillin"
    response = doctor_client.post(edit_url(patient), data)
    assert response.status_code == 400
    assert "Choose the type." in response.content.decode()
    assert HistoryItem.objects.count() == 3  # the valid change was not saved either


def test_a_type_of_another_category_is_refused(doctor_client, patient):
    data = form_data(doctor_client, patient)
    data[f"{Category.ALLERGY}-1-code"] = Code.DIABETES
    response = doctor_client.post(edit_url(patient), data)
    assert response.status_code == 400
    assert "Choose one of the types of allergy in the list." in response.content.decode()
    assert HistoryItem.objects.count() == 3


def test_an_entry_changed_meanwhile_is_not_overwritten(doctor_client, doctor, patient):
    data = form_data(doctor_client, patient)
    warfarin = patient.history_items.get(code=Code.ANTICOAGULANT)
    history_item_revise(item=warfarin, fields={"details": "Changed by a colleague"}, actor=Actor(user=doctor))
    data[f"{row_of(data, 'medication', 'Warfarin')}-details"] = "Mine"
    response = doctor_client.post(edit_url(patient), data)
    assert response.status_code == 400
    assert "changed meanwhile" in response.content.decode()
    assert HistoryItem.objects.current().get(lineage=warfarin.lineage).details == "Changed by a colleague"


def test_an_entry_of_another_patient_cannot_be_changed_through_the_form(doctor_client, doctor, patient):
    stranger = HistoryItemFactory(category=Category.ALLERGY, code=Code.LATEX, name="Latex")
    data = form_data(doctor_client, patient)
    data[f"{row_of(data, 'allergy', 'Latex')}-item"] = stranger.pk
    data[f"{row_of(data, 'allergy', 'Latex')}-details"] = "hijack"
    response = doctor_client.post(edit_url(patient), data)
    assert response.status_code == 400
    stranger.refresh_from_db()
    assert stranger.superseded_at is None
    assert stranger.details == ""


def test_tampered_management_form_is_a_clear_error(doctor_client, patient):
    response = doctor_client.post(edit_url(patient), {"allergy-TOTAL_FORMS": "x"})
    assert response.status_code == 400
    assert HistoryItem.objects.count() == 3


def test_add_form_groups_types_under_their_category_and_fills_the_name(doctor_client, patient):
    url = reverse("patients:history_item_add", args=[patient.pk])
    choices = doctor_client.get(url).context["form"].fields["code"].choices
    groups = dict(choices[1:])
    assert [code for code, _ in groups["Allergy"]] == HistoryItem.CODES_BY_CATEGORY[Category.ALLERGY]
    response = doctor_client.post(url, {"category": Category.ALLERGY, "code": Code.INGREDIENT, "status": "current"})
    assert response.status_code == 302
    assert patient.history_items.get(code=Code.INGREDIENT).name == "Mesotherapy ingredient"


def test_receptionist_cannot_open_the_history_form(receptionist_client, patient):
    assert receptionist_client.get(edit_url(patient)).status_code == 403


def test_errors_in_two_categories_are_both_shown(doctor_client, patient):
    data = form_data(doctor_client, patient)
    data[f"{Category.CONDITION}-1-name"] = "Asthma"
    data[f"{Category.PREVIOUS_TREATMENT}-1-name"] = "Thread lift"
    response = doctor_client.post(edit_url(patient), data)
    assert response.status_code == 400
    assert response.content.decode().count("Choose the type.") == 2
