"""The safety check: the patient's medical history and skin profile against a plan.

Each rule gives a ``Finding`` that says why, and whether it blocks the treatment or warns.
The check runs when a plan is made or activated and again before each session. A blocking
finding can only be overridden by a doctor who writes a reason (a ``SafetyOverride``,
recorded by the services and audited); an override given for a plan holds for its sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from patients.models import ConsentDocument, HistoryItem, Patient, SkinProfile
from patients.selectors import ISOTRETINOIN_WASHOUT
from treatments.models import Consultation, Ingredient, NumbingCream, SafetyOverride, TreatmentPlan

BLOCK = "block"
WARN = "warn"

RESURFACING_WASHOUT = timedelta(days=14)
RESURFACING_CODES = {
    HistoryItem.Code.CHEMICAL_PEEL,
    HistoryItem.Code.LASER,
    HistoryItem.Code.MICRONEEDLING,
    HistoryItem.Code.DERMAL_FILLER,
    HistoryItem.Code.BOTULINUM_TOXIN,
}


@dataclass
class Finding:
    code: str  # stable key of the rule (and the history entry), used by overrides
    level: str  # BLOCK or WARN
    title: str
    reason: str
    override: SafetyOverride | None = None

    @property
    def blocks(self) -> bool:
        return self.level == BLOCK

    @property
    def is_overridden(self) -> bool:
        return self.override is not None

    @property
    def level_label(self) -> str:
        if self.blocks:
            return "Overridden" if self.is_overridden else "Blocks treatment"
        return "Warning"


@dataclass
class SafetyCheck:
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocking(self) -> list[Finding]:
        """Blocking findings not overridden yet: the treatment may not go ahead."""
        return [finding for finding in self.findings if finding.blocks and not finding.is_overridden]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.blocks]

    @property
    def is_clear(self) -> bool:
        return not self.blocking


def _matches(allergen: str, ingredient: str) -> bool:
    allergen, ingredient = allergen.strip().lower(), ingredient.strip().lower()
    if not allergen:
        return False
    return allergen in ingredient or ingredient in allergen


def _item_code(rule: str, item: HistoryItem) -> str:
    # The lineage, not the pk: a revised history entry keeps its override.
    return f"{rule}:{item.lineage}"


def evaluate(
    *,
    items: Iterable[HistoryItem],
    profile: SkinProfile | None,
    ingredients: Iterable[Ingredient],
    numbing_cream: str,
    consultation: Consultation | None,
    on: date,
    has_consent: bool | None = None,
) -> list[Finding]:
    """The rules, one by one. Pure: it reads only what it is given."""
    findings: list[Finding] = []
    ingredients = list(ingredients)

    if has_consent is False:
        findings.append(
            Finding(
                "no_consent",
                WARN,
                "No informed consent on file",
                "No consent to facial mesotherapy is in force: record it before the first session.",
            )
        )

    if consultation is not None and consultation.suitability == Consultation.Suitability.NOT_SUITABLE:
        findings.append(
            Finding(
                "consultation_not_suitable",
                BLOCK,
                "Consultation: not suitable",
                "The signed consultation found the patient not suitable for mesotherapy.",
            )
        )

    if profile is None:
        findings.append(
            Finding(
                "pregnancy_unknown",
                WARN,
                "Pregnancy status not recorded",
                "No skin profile is recorded: ask about pregnancy and breastfeeding before treating.",
            )
        )
    elif profile.pregnancy == SkinProfile.Pregnancy.PREGNANT:
        findings.append(
            Finding(
                "pregnancy",
                BLOCK,
                "Pregnant",
                "Mesotherapy is not given during pregnancy: the safety of the injected products is not established.",
            )
        )
    elif profile.pregnancy == SkinProfile.Pregnancy.BREASTFEEDING:
        findings.append(
            Finding(
                "breastfeeding",
                BLOCK,
                "Breastfeeding",
                "Mesotherapy is not given while breastfeeding: the products may pass into breast milk.",
            )
        )
    elif profile.pregnancy == SkinProfile.Pregnancy.TRYING:
        findings.append(
            Finding(
                "trying_to_conceive",
                WARN,
                "Trying to conceive",
                "Confirm the patient is not pregnant before each session.",
            )
        )

    for item in items:
        if item.status == HistoryItem.Status.ENTERED_IN_ERROR:
            continue
        current = item.status == HistoryItem.Status.CURRENT
        category, code = item.category, item.code

        if category == HistoryItem.Category.CONDITION:
            if code == HistoryItem.Code.SKIN_INFECTION and current:
                findings.append(
                    Finding(
                        _item_code("skin_infection", item),
                        BLOCK,
                        f"Active skin infection: {item.name}",
                        "Injecting through infected skin spreads the infection: treat it first.",
                    )
                )
            elif code == HistoryItem.Code.HERPES and current:
                findings.append(
                    Finding(
                        _item_code("herpes_active", item),
                        BLOCK,
                        f"Active herpes: {item.name}",
                        "Injections during an outbreak spread the virus: wait until it has healed.",
                    )
                )
            elif code == HistoryItem.Code.HERPES:
                findings.append(
                    Finding(
                        _item_code("herpes_history", item),
                        WARN,
                        f"History of cold sores: {item.name}",
                        "Needling can trigger an outbreak: consider antiviral prophylaxis.",
                    )
                )
            elif code == HistoryItem.Code.BLEEDING_DISORDER and current:
                findings.append(
                    Finding(
                        _item_code("bleeding_disorder", item),
                        BLOCK,
                        f"Bleeding disorder: {item.name}",
                        "Risk of bleeding and haematoma at the injection sites.",
                    )
                )
            elif code == HistoryItem.Code.AUTOIMMUNE and current:
                findings.append(
                    Finding(
                        _item_code("autoimmune", item),
                        BLOCK,
                        f"Autoimmune disease: {item.name}",
                        "Injected products may trigger a flare or an unpredictable reaction.",
                    )
                )
            elif code == HistoryItem.Code.CANCER and current:
                findings.append(
                    Finding(
                        _item_code("cancer", item),
                        BLOCK,
                        f"Cancer under treatment: {item.name}",
                        "Needs the oncologist's agreement before any injection.",
                    )
                )
            elif code == HistoryItem.Code.KELOID:
                findings.append(
                    Finding(
                        _item_code("keloid", item),
                        WARN,
                        f"Keloid tendency: {item.name}",
                        "Risk of raised scars at injection sites: use the finest needle, fewest points.",
                    )
                )
            elif code == HistoryItem.Code.DIABETES and current:
                findings.append(
                    Finding(
                        _item_code("diabetes", item),
                        WARN,
                        f"Diabetes: {item.name}",
                        "Slower healing and a higher risk of infection.",
                    )
                )
            elif code == HistoryItem.Code.EPILEPSY and current:
                findings.append(
                    Finding(
                        _item_code("epilepsy", item),
                        WARN,
                        f"Epilepsy: {item.name}",
                        "Keep the session calm and short; check the patient's triggers.",
                    )
                )

        elif category == HistoryItem.Category.ALLERGY:
            if code == HistoryItem.Code.LOCAL_ANAESTHETIC:
                if numbing_cream != NumbingCream.NONE:
                    findings.append(
                        Finding(
                            _item_code("allergy_anaesthetic", item),
                            BLOCK,
                            f"Allergy to anaesthetic: {item.name}",
                            "The plan uses a numbing cream containing a local anaesthetic.",
                        )
                    )
                else:
                    findings.append(
                        Finding(
                            _item_code("allergy_anaesthetic", item),
                            WARN,
                            f"Allergy to anaesthetic: {item.name}",
                            "Do not apply any numbing cream.",
                        )
                    )
            elif code == HistoryItem.Code.LATEX:
                findings.append(
                    Finding(
                        _item_code("allergy_latex", item),
                        WARN,
                        f"Latex allergy: {item.name}",
                        "Use latex-free gloves and equipment.",
                    )
                )
            else:
                matched = [ing.name for ing in ingredients if _matches(item.name, ing.name)]
                if matched:
                    findings.append(
                        Finding(
                            _item_code("allergy_ingredient", item),
                            BLOCK,
                            f"Allergy: {item.name}",
                            f"The cocktail contains {', '.join(matched)}.",
                        )
                    )
                elif code == HistoryItem.Code.INGREDIENT:
                    findings.append(
                        Finding(
                            _item_code("allergy_ingredient_other", item),
                            WARN,
                            f"Allergy to a mesotherapy ingredient: {item.name}",
                            "Not found in this cocktail's listed ingredients: check the full composition.",
                        )
                    )

        elif category == HistoryItem.Category.MEDICATION:
            if code == HistoryItem.Code.ANTICOAGULANT and current:
                findings.append(
                    Finding(
                        _item_code("anticoagulant", item),
                        WARN,
                        f"Anticoagulant: {item.name}",
                        "More bruising is likely: press each point longer and warn the patient.",
                    )
                )
            elif code == HistoryItem.Code.ISOTRETINOIN:
                recent = current or (item.ended_on is not None and on - item.ended_on < ISOTRETINOIN_WASHOUT)
                if recent:
                    findings.append(
                        Finding(
                            _item_code("isotretinoin", item),
                            BLOCK,
                            f"Recent isotretinoin: {item.name}",
                            "Healing is impaired until six months after the last dose.",
                        )
                    )
            elif code == HistoryItem.Code.IMMUNOSUPPRESSANT and current:
                findings.append(
                    Finding(
                        _item_code("immunosuppressant", item),
                        WARN,
                        f"Immunosuppressant: {item.name}",
                        "Higher risk of infection at the injection sites.",
                    )
                )

        elif category == HistoryItem.Category.PREVIOUS_TREATMENT and code in RESURFACING_CODES:
            when = item.ended_on or item.started_on
            if when is not None and timedelta(0) <= on - when < RESURFACING_WASHOUT:
                findings.append(
                    Finding(
                        _item_code("recent_treatment", item),
                        WARN,
                        f"Recent {item.get_code_display().lower()}: {item.name}",
                        "Less than two weeks ago: the skin may not have recovered.",
                    )
                )
    return findings


def plan_ingredients(plan: TreatmentPlan | None, products=None) -> list[Ingredient]:
    if products is None:
        if plan is None or plan.pk is None:
            return []
        return list(Ingredient.objects.filter(products__in=plan.plan_products.values("product_id")).distinct())
    return list(Ingredient.objects.filter(products__in=[product.pk for product in products]).distinct())


def safety_check(
    *,
    patient: Patient,
    on: date,
    plan: TreatmentPlan | None = None,
    consultation: Consultation | None = None,
    products=None,
    numbing_cream: str | None = None,
) -> SafetyCheck:
    """Check ``patient`` against a plan (saved, or about to be made from ``products`` and
    ``numbing_cream``) on day ``on``; overrides recorded for the plan are attached."""
    items = list(patient.history_items.current())
    profile = patient.skin_profiles.current().first()
    if numbing_cream is None:
        numbing_cream = plan.numbing_cream if plan is not None else NumbingCream.NONE
    if consultation is None and plan is not None:
        consultation = plan.consultation
    has_consent = patient.consents.in_force().filter(document__procedure=ConsentDocument.Procedure.MESOTHERAPY).exists()
    findings = evaluate(
        items=items,
        profile=profile,
        ingredients=plan_ingredients(plan, products),
        numbing_cream=numbing_cream,
        consultation=consultation,
        on=on,
        has_consent=has_consent,
    )
    if plan is not None and plan.pk is not None:
        overrides = {}
        for override in plan.safety_overrides.select_related("overridden_by").order_by("overridden_at"):
            overrides[override.finding_code] = override
        for finding in findings:
            if finding.blocks:
                finding.override = overrides.get(finding.code)
    return SafetyCheck(findings=findings)
