"""The clinical safety rule table: each rule has a case here, and each case is run through both
paths that read the table, the patient page's summary and the plan's safety check, which must
agree (same code, same level)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import HistoryItem, Patient, SkinProfile
from patients.safety_rules import BLOCK, RULES, WARN, could_be_pregnant
from patients.selectors import patient_safety_summary
from tests.factories import HistoryItemFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory
from treatments.models import NumbingCream
from treatments.safety import safety_check

pytestmark = pytest.mark.django_db

C, A, M, T = (
    HistoryItem.Category.CONDITION,
    HistoryItem.Category.ALLERGY,
    HistoryItem.Category.MEDICATION,
    HistoryItem.Category.PREVIOUS_TREATMENT,
)
PAST = HistoryItem.Status.PAST


def _ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


# rule code -> (expected level, what to record: history entry fields, or a skin profile's pregnancy)
CASES = {
    "pregnancy": (BLOCK, {"pregnancy": SkinProfile.Pregnancy.PREGNANT}),
    "breastfeeding": (BLOCK, {"pregnancy": SkinProfile.Pregnancy.BREASTFEEDING}),
    "trying_to_conceive": (WARN, {"pregnancy": SkinProfile.Pregnancy.TRYING}),
    "pregnancy_unknown": (WARN, {"pregnancy": SkinProfile.Pregnancy.UNKNOWN}),
    "skin_infection": (BLOCK, {"category": C, "code": HistoryItem.Code.SKIN_INFECTION}),
    "herpes_active": (BLOCK, {"category": C, "code": HistoryItem.Code.HERPES}),
    "herpes_history": (WARN, {"category": C, "code": HistoryItem.Code.HERPES, "status": PAST}),
    "bleeding_disorder": (BLOCK, {"category": C, "code": HistoryItem.Code.BLEEDING_DISORDER}),
    "autoimmune": (BLOCK, {"category": C, "code": HistoryItem.Code.AUTOIMMUNE, "name": "Lupus"}),
    "cancer": (BLOCK, {"category": C, "code": HistoryItem.Code.CANCER}),
    "keloid": (WARN, {"category": C, "code": HistoryItem.Code.KELOID, "status": PAST}),
    "diabetes": (WARN, {"category": C, "code": HistoryItem.Code.DIABETES}),
    "epilepsy": (WARN, {"category": C, "code": HistoryItem.Code.EPILEPSY}),
    "allergy_local_anaesthetic": (WARN, {"category": A, "code": HistoryItem.Code.LOCAL_ANAESTHETIC}),
    "allergy_latex": (WARN, {"category": A, "code": HistoryItem.Code.LATEX, "name": "Latex"}),
    "allergy_mesotherapy_ingredient": (WARN, {"category": A, "code": HistoryItem.Code.INGREDIENT, "name": "DMAE"}),
    "allergy_other": (WARN, {"category": A, "code": HistoryItem.Code.OTHER, "name": "Nickel"}),
    "anticoagulant": (WARN, {"category": M, "code": HistoryItem.Code.ANTICOAGULANT, "name": "Warfarin"}),
    "isotretinoin": (
        BLOCK,
        {"category": M, "code": HistoryItem.Code.ISOTRETINOIN, "status": PAST, "ended_on": _ago(60)},
    ),
    "immunosuppressant": (WARN, {"category": M, "code": HistoryItem.Code.IMMUNOSUPPRESSANT}),
    "recent_treatment": (WARN, {"category": T, "code": HistoryItem.Code.CHEMICAL_PEEL, "started_on": _ago(3)}),
}


def test_every_rule_of_the_table_has_a_case():
    assert set(CASES) == {rule.code for rule in RULES}


@pytest.mark.parametrize("rule_code", list(CASES))
def test_each_rule_gives_the_same_finding_on_the_patient_page_and_in_the_plan_check(rule_code):
    level, record = CASES[rule_code]
    # A plan with no numbing cream and an ingredient-free product: only the history rules speak.
    plan = ActivePlanFactory(numbing_cream=NumbingCream.NONE)
    patient = plan.patient
    if "pregnancy" in record:
        SkinProfileFactory(patient=patient, pregnancy=record["pregnancy"])
    else:
        SkinProfileFactory(patient=patient, pregnancy=SkinProfile.Pregnancy.NO)
        HistoryItemFactory(patient=patient, **({"name": "x"} | record))

    summary = {(f.code, f.level) for f in patient_safety_summary(patient).findings}
    check = {(f.code, f.level) for f in safety_check(patient=patient, plan=plan, on=timezone.localdate()).findings}

    assert summary == check
    assert [(code.split(":")[0], found) for code, found in summary] == [(rule_code, level)]


def test_a_rule_does_not_fire_on_an_entry_entered_in_error():
    plan = ActivePlanFactory(numbing_cream=NumbingCream.NONE)
    SkinProfileFactory(patient=plan.patient)
    HistoryItemFactory(patient=plan.patient, category=C, code=HistoryItem.Code.CANCER, status="entered_in_error")
    assert patient_safety_summary(plan.patient).findings == []
    assert safety_check(patient=plan.patient, plan=plan, on=timezone.localdate()).findings == []


@pytest.mark.parametrize(
    ("sex", "age", "could"),
    [
        (Patient.Sex.FEMALE, 36, True),
        (Patient.Sex.FEMALE, 12, True),
        (Patient.Sex.FEMALE, 55, True),
        (Patient.Sex.FEMALE, 56, False),
        (Patient.Sex.FEMALE, 11, False),
        (Patient.Sex.UNDISCLOSED, 30, True),
        (Patient.Sex.OTHER, 30, True),
        (Patient.Sex.MALE, 30, False),
    ],
)
def test_who_could_be_pregnant(sex, age, could):
    today = datetime.date(2026, 3, 10)
    patient = PatientFactory.build(sex=sex, date_of_birth=today.replace(year=today.year - age))
    assert could_be_pregnant(patient, today) is could


def test_no_skin_profile_warns_only_for_someone_who_could_be_pregnant():
    today = timezone.localdate()
    woman = PatientFactory(sex=Patient.Sex.FEMALE, date_of_birth=today.replace(year=today.year - 36))
    man = PatientFactory(sex=Patient.Sex.MALE, date_of_birth=today.replace(year=today.year - 36))
    assert [f.code for f in patient_safety_summary(woman).findings] == ["pregnancy_unknown"]
    assert patient_safety_summary(man).findings == []


def test_skin_profile_form_asks_about_pregnancy_for_a_36_year_old_woman(doctor_client):
    today = timezone.localdate()
    woman = PatientFactory(sex=Patient.Sex.FEMALE, date_of_birth=today.replace(year=today.year - 36))
    man = PatientFactory(sex=Patient.Sex.MALE, date_of_birth=today.replace(year=today.year - 36))
    page = doctor_client.get(reverse("patients:skin_profile_edit", args=[woman.pk])).content.decode()
    assert '<option value="unknown" selected>Not asked yet</option>' in page
    page = doctor_client.get(reverse("patients:skin_profile_edit", args=[man.pk])).content.decode()
    assert '<option value="not_applicable" selected>Not applicable</option>' in page


def test_a_skin_profile_saved_without_an_answer_is_not_asked_yet():
    profile = SkinProfileFactory.build()
    assert SkinProfile(patient=profile.patient).pregnancy == SkinProfile.Pregnancy.UNKNOWN


def test_empty_history_says_nothing_is_recorded_not_that_nothing_needs_attention(doctor_client):
    today = timezone.localdate()
    patient = PatientFactory(sex=Patient.Sex.MALE, date_of_birth=today.replace(year=today.year - 40))
    for name in ("patients:detail", "patients:medical_history"):
        page = doctor_client.get(reverse(name, args=[patient.pk])).content.decode()
        assert "No medical history recorded yet" in page
        assert "needs attention" not in page


def test_recorded_but_unreviewed_history_says_so(doctor_client):
    patient = PatientFactory()
    SkinProfileFactory(patient=patient)
    page = doctor_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Medical history not reviewed yet" in page


def test_reviewed_history_with_nothing_found_says_when_it_was_reviewed(doctor_client):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    page = doctor_client.get(reverse("patients:detail", args=[plan.patient.pk])).content.decode()
    assert "No allergy, contraindication or warning in the medical history (last reviewed" in page


def test_patient_page_lists_allergies_contraindications_and_warnings_in_words(doctor_client):
    patient = PatientFactory()
    SkinProfileFactory(patient=patient, pregnancy=SkinProfile.Pregnancy.BREASTFEEDING)
    HistoryItemFactory(patient=patient, category=A, code=HistoryItem.Code.LATEX, name="Latex")
    HistoryItemFactory(patient=patient, category=M, code=HistoryItem.Code.ANTICOAGULANT, name="Warfarin")
    page = doctor_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    allergies, rest = page.split('<h3 class="h6 mt-2">Allergies</h3>')[1].split("Contraindications and refusals")
    assert "Latex allergy: Latex" in allergies
    assert "Blocks treatment" in rest.split("Warnings")[0]
    assert "Breastfeeding" in rest.split("Warnings")[0]
    assert "Anticoagulant: Warfarin" in rest.split("Warnings")[1]
