"""The safety check's rules, one by one: what blocks, what warns, and why."""

import datetime

import pytest

from patients.models import HistoryItem, SkinProfile
from tests.factories import HistoryItemFactory, SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, IngredientFactory, ProductFactory
from treatments.models import Consultation, NumbingCream, SafetyOverride
from treatments.safety import BLOCK, GATE, WARN, evaluate, safety_check

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 10)
C, A, M, P = HistoryItem.Category.CONDITION, HistoryItem.Category.ALLERGY, HistoryItem.Category.MEDICATION, None


def item(category, code, name="x", status=HistoryItem.Status.CURRENT, **extra):
    return HistoryItemFactory.build(category=category, code=code, name=name, status=status, **extra)


def run(items=(), profile="no", ingredients=(), numbing=NumbingCream.EMLA, consultation=None):
    skin = None if profile is None else SkinProfileFactory.build(pregnancy=profile)
    return evaluate(
        items=list(items),
        profile=skin,
        ingredients=list(ingredients),
        numbing_cream=numbing,
        consultation=consultation,
        on=TODAY,
    )


def only(findings):
    assert len(findings) == 1, findings
    return findings[0]


def test_nothing_in_history_finds_nothing():
    assert run() == []


@pytest.mark.parametrize(
    ("pregnancy", "code", "level"),
    [
        (SkinProfile.Pregnancy.PREGNANT, "pregnancy", BLOCK),
        (SkinProfile.Pregnancy.BREASTFEEDING, "breastfeeding", BLOCK),
        (SkinProfile.Pregnancy.TRYING, "trying_to_conceive", WARN),
    ],
)
def test_pregnancy_and_breastfeeding(pregnancy, code, level):
    finding = only(run(profile=pregnancy))
    assert (finding.code, finding.level) == (code, level)
    assert finding.reason


def test_unknown_pregnancy_status_warns():
    finding = only(run(profile=None))
    assert (finding.code, finding.level) == ("pregnancy_unknown", WARN)


@pytest.mark.parametrize(
    ("code", "rule", "level"),
    [
        (HistoryItem.Code.SKIN_INFECTION, "skin_infection", BLOCK),
        (HistoryItem.Code.HERPES, "herpes_active", BLOCK),
        (HistoryItem.Code.BLEEDING_DISORDER, "bleeding_disorder", BLOCK),
        (HistoryItem.Code.AUTOIMMUNE, "autoimmune", BLOCK),
        (HistoryItem.Code.CANCER, "cancer", BLOCK),
        (HistoryItem.Code.KELOID, "keloid", WARN),
        (HistoryItem.Code.DIABETES, "diabetes", WARN),
        (HistoryItem.Code.EPILEPSY, "epilepsy", WARN),
    ],
)
def test_current_conditions(code, rule, level):
    history = item(C, code)
    finding = only(run([history]))
    assert finding.code == f"{rule}:{history.lineage}"
    assert finding.level == level


def test_past_infection_does_not_block():
    assert run([item(C, HistoryItem.Code.SKIN_INFECTION, status=HistoryItem.Status.PAST)]) == []


def test_past_cold_sores_warn_about_prophylaxis():
    finding = only(run([item(C, HistoryItem.Code.HERPES, status=HistoryItem.Status.PAST)]))
    assert finding.level == WARN
    assert "antiviral" in finding.reason


def test_entries_entered_in_error_are_ignored():
    assert run([item(C, HistoryItem.Code.BLEEDING_DISORDER, status=HistoryItem.Status.ENTERED_IN_ERROR)]) == []


def test_anticoagulant_warns_about_bruising():
    finding = only(run([item(M, HistoryItem.Code.ANTICOAGULANT, name="Warfarin")]))
    assert finding.level == WARN
    assert finding.title == "Anticoagulant: Warfarin"
    assert "bruising" in finding.reason


def test_isotretinoin_within_six_months_blocks():
    ended = TODAY - datetime.timedelta(days=60)
    finding = only(run([item(M, HistoryItem.Code.ISOTRETINOIN, status=HistoryItem.Status.PAST, ended_on=ended)]))
    assert finding.level == BLOCK
    assert "six months" in finding.reason


def test_isotretinoin_stopped_long_ago_is_fine():
    ended = TODAY - datetime.timedelta(days=400)
    assert run([item(M, HistoryItem.Code.ISOTRETINOIN, status=HistoryItem.Status.PAST, ended_on=ended)]) == []


def test_immunosuppressant_warns():
    assert only(run([item(M, HistoryItem.Code.IMMUNOSUPPRESSANT)])).level == WARN


def levels(findings):
    return {finding.rule: finding.level for finding in findings}


def test_anaesthetic_allergy_blocks_when_the_plan_uses_numbing_cream():
    allergy = item(A, HistoryItem.Code.LOCAL_ANAESTHETIC, name="Lidocaine")
    # The history's warning (shown everywhere) and the plan's rule (the cream) side by side.
    assert levels(run([allergy], numbing=NumbingCream.EMLA)) == {
        "allergy_local_anaesthetic": WARN,
        "allergy_anaesthetic": BLOCK,
    }
    finding = only(run([allergy], numbing=NumbingCream.NONE))
    assert (finding.rule, finding.level) == ("allergy_local_anaesthetic", WARN)
    assert "No numbing cream" in finding.reason


def test_allergy_to_an_ingredient_of_the_cocktail_blocks():
    allergy = item(A, HistoryItem.Code.INGREDIENT, name="hyaluronic acid")
    ingredient = IngredientFactory.build(name="Hyaluronic acid (non cross-linked)")
    findings = run([allergy], ingredients=[ingredient])
    assert levels(findings) == {"allergy_mesotherapy_ingredient": WARN, "allergy_ingredient": BLOCK}
    assert "Hyaluronic acid (non cross-linked)" in findings[-1].reason


def test_allergy_to_an_ingredient_not_in_the_cocktail_warns():
    allergy = item(A, HistoryItem.Code.INGREDIENT, name="DMAE")
    finding = only(run([allergy], ingredients=[IngredientFactory.build(name="Vitamin C")]))
    assert finding.level == WARN


def test_latex_allergy_warns():
    assert only(run([item(A, HistoryItem.Code.LATEX)])).level == WARN


def test_recent_peel_warns():
    peel = item(HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.CHEMICAL_PEEL, started_on=TODAY)
    assert only(run([peel])).level == WARN
    old = item(
        HistoryItem.Category.PREVIOUS_TREATMENT, HistoryItem.Code.CHEMICAL_PEEL, started_on=datetime.date(2025, 1, 1)
    )
    assert run([old]) == []


def test_consultation_found_not_suitable_blocks():
    consultation = Consultation(suitability=Consultation.Suitability.NOT_SUITABLE)
    assert only(run(consultation=consultation)).code == "consultation_not_suitable"


def test_safety_check_reads_the_patient_and_attaches_plan_overrides(doctor):
    hyaluronic = IngredientFactory(name="Hyaluronic acid test")
    plan = ActivePlanFactory(products=[ProductFactory(ingredients=[hyaluronic])])
    SkinProfileFactory(patient=plan.patient)
    allergy = HistoryItemFactory(patient=plan.patient, category=A, code=HistoryItem.Code.INGREDIENT, name="hyaluronic")
    HistoryItemFactory(patient=plan.patient, category=M, code=HistoryItem.Code.ANTICOAGULANT, name="Apixaban")

    check = safety_check(patient=plan.patient, plan=plan, on=TODAY)
    assert [f.code for f in check.blocking] == [f"allergy_ingredient:{allergy.lineage}"]
    assert [f.title for f in check.warnings] == [
        "Allergy to a mesotherapy ingredient: hyaluronic",
        "Anticoagulant: Apixaban",
    ]
    assert not check.is_clear

    SafetyOverride.objects.create(
        patient=plan.patient,
        plan=plan,
        finding_code=f"allergy_ingredient:{allergy.lineage}",
        finding="Allergy",
        reason="Patch test negative on 1 March",
        overridden_by=doctor,
    )
    check = safety_check(patient=plan.patient, plan=plan, on=TODAY)
    assert check.is_clear
    assert {finding.level_label for finding in check.findings} == {"Overridden", "Warning"}


def test_missing_consent_is_a_gate_that_no_override_lifts():
    plan = ActivePlanFactory(consultation__consent=False)
    SkinProfileFactory(patient=plan.patient)
    check = safety_check(patient=plan.patient, plan=plan, on=TODAY)
    finding = only(check.findings)
    assert (finding.code, finding.level) == ("consent_required", GATE)
    assert "No consent to facial mesotherapy is on file" in finding.reason
    assert check.blocking == []  # nothing to override: no reason box is offered
    assert check.gates == [finding]
    assert not check.is_clear


def test_withdrawn_consent_counts_as_none():
    from django.utils import timezone

    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    consent = plan.patient.consents.get()
    assert safety_check(patient=plan.patient, plan=plan, on=TODAY).findings == []
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = consent.witnessed_by
    consent.withdrawal_reason = "Changed her mind"
    consent.save()
    findings = safety_check(patient=plan.patient, plan=plan, on=TODAY).findings
    assert [(f.code, f.level) for f in findings] == [("consent_required", GATE)]
    assert "withdrew consent" in findings[0].reason
