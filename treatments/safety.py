"""The safety check of a plan and of a session: the patient's rule table (patients/safety_rules.py)
plus the rules that need a plan, a consultation, the consent or a session record.

Each rule gives a ``Finding`` that says why and at what level: a contraindication (BLOCK) can
only be overridden by a doctor who writes a reason (a ``SafetyOverride``, recorded by the
services and audited; an override given for a plan holds for its sessions); a warning (WARN)
does not stop the treatment; a missing consent (GATE) is refused and no override lifts it.
The check runs when a plan is made, when the course starts, when a session is recorded and
again when it is signed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from patients.models import ConsentDocument, HistoryItem, Patient, SkinProfile
from patients.safety_rules import (
    BLOCK,
    GATE,
    RULES,
    WARN,
    Facts,
    Finding,
    GroupedFindings,
    Rule,
    evaluate_rules,
)
from patients.selectors import ConsentStatus, consent_in_force, history_reviewed_on
from treatments.models import (
    Consultation,
    Ingredient,
    NumbingCream,
    Technique,
    TreatmentPlan,
    TreatmentSession,
)

__all__ = ["BLOCK", "GATE", "WARN", "Finding", "SafetyCheck", "evaluate", "safety_check", "session_findings"]

# Sessions of a course are a week apart; a day's leeway either way for the patient's diary.
MIN_SESSION_SPACING = timedelta(days=6)
# The numbing cream needs this long on the skin before the first injection.
MIN_NUMBING_TIME = timedelta(minutes=20)


def ingredient_matches(allergen: str, ingredient: str) -> bool:
    allergen, ingredient = allergen.strip().lower(), ingredient.strip().lower()
    if not allergen:
        return False
    return allergen in ingredient or ingredient in allergen


def _cocktail_allergens(entry: HistoryItem, facts: Facts) -> list[str]:
    if entry.code not in {HistoryItem.Code.INGREDIENT, HistoryItem.Code.OTHER}:  # as product_contraindication
        return []
    return [ing.name for ing in facts.extra.get("ingredients", []) if ingredient_matches(entry.name, ing.name)]


def _uses_cream(facts: Facts) -> bool:
    return facts.extra.get("numbing_cream", NumbingCream.NONE) != NumbingCream.NONE


def _consent(facts: Facts) -> ConsentStatus | None:
    return facts.extra.get("consent")


def _consultation(facts: Facts) -> Consultation | None:
    return facts.extra.get("consultation")


def _session(facts: Facts) -> TreatmentSession | None:
    return facts.extra.get("session")


def _too_soon(facts: Facts) -> bool:
    session, previous = _session(facts), facts.extra.get("previous_signed")
    return (
        session is not None
        and previous is not None
        and session.performed_at - previous.performed_at < MIN_SESSION_SPACING
    )


def _numbing_short(facts: Facts) -> bool:
    session = _session(facts)
    return session is not None and session.numbing_applied_at is not None and _numbing_time(facts) < MIN_NUMBING_TIME


def _numbing_time(facts: Facts) -> timedelta:
    session = _session(facts)
    return session.performed_at - session.numbing_applied_at


def _technique_changed(facts: Facts) -> bool:
    session, plan = _session(facts), facts.extra.get("plan")
    return session is not None and plan is not None and session.technique != plan.technique


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _session_record(facts: Facts) -> str:
    session = _session(facts)
    return f"the draft record of session {session.number} ({session.performed_at:%d/%m/%Y %H:%M})"


PLAN_RULES: list[Rule] = [
    Rule("consent_required", GATE, "No informed consent in force", "{message}", "consent records",
         lambda facts: _consent(facts) is not None and not _consent(facts).in_force,
         detail=lambda facts: {"message": _consent(facts).message},
         record=lambda facts: f"the consent records of {facts.patient}"),
    Rule("consultation_not_suitable", BLOCK, "Consultation: not suitable",
         "The signed consultation found the patient not suitable for mesotherapy.", "consultation",
         lambda facts: _consultation(facts) is not None
         and _consultation(facts).suitability == Consultation.Suitability.NOT_SUITABLE,
         record=lambda facts: f"the consultation of {_consultation(facts).consulted_on:%d/%m/%Y}"),
    Rule("allergy_anaesthetic", BLOCK, "Allergy to anaesthetic: {name}",
         "The plan uses a numbing cream containing a local anaesthetic: choose 'None'.",
         "medical history and plan",
         lambda entry, facts: entry.code == HistoryItem.Code.LOCAL_ANAESTHETIC and _uses_cream(facts),
         HistoryItem.Category.ALLERGY, is_allergy=True),
    Rule("allergy_ingredient", BLOCK, "Allergy: {name}", "The cocktail contains {found}.",
         "medical history and plan's products",
         lambda entry, facts: bool(_cocktail_allergens(entry, facts)),
         HistoryItem.Category.ALLERGY, is_allergy=True,
         detail=lambda entry, facts: {"found": ", ".join(_cocktail_allergens(entry, facts))}),
]  # fmt: skip

# Checked when a session is signed, against the session record itself.
SESSION_RULES: list[Rule] = [
    Rule("session_spacing", BLOCK, "Sessions less than 6 days apart",
         "The previous signed session of this course was on {previous} ({gap}); sessions are a week apart.",
         "session records",
         _too_soon,
         detail=lambda facts: {
             "previous": f"{facts.extra['previous_signed'].performed_at:%d/%m/%Y %H:%M}",
             "gap": _gap_text(_session(facts).performed_at - facts.extra["previous_signed"].performed_at),
         },
         record=_session_record),
    Rule("numbing_time_short", WARN, "Numbing cream on for less than 20 minutes",
         "Applied {minutes} minutes before the session: the skin may not be numb yet.", "session record",
         _numbing_short,
         detail=lambda facts: {"minutes": str(_minutes(_numbing_time(facts)))},
         record=_session_record),
    Rule("technique_changed", WARN, "Technique differs from the plan",
         "Planned: {planned}; recorded for this session: {used}.", "session record and plan",
         _technique_changed,
         detail=lambda facts: {
             "planned": Technique(facts.extra["plan"].technique).label,
             "used": Technique(_session(facts).technique).label,
         },
         record=_session_record),
]  # fmt: skip


def _gap_text(gap: timedelta) -> str:
    if gap < timedelta(days=1):
        return f"{_minutes(gap)} minutes before this one"
    return f"{gap.days} days before this one"


@dataclass
class SafetyCheck(GroupedFindings):
    findings: list[Finding] = field(default_factory=list)
    history_recorded: bool = True
    history_reviewed_on: date | None = None

    @property
    def gates(self) -> list[Finding]:
        """Preconditions not met (consent): refused, and no override lifts them."""
        return [finding for finding in self.findings if finding.is_gate]

    @property
    def blocking(self) -> list[Finding]:
        """Contraindications not overridden yet: the treatment may not go ahead without a reason."""
        return [finding for finding in self.findings if finding.level == BLOCK and not finding.is_overridden]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == WARN]

    @property
    def is_clear(self) -> bool:
        return not self.blocking and not self.gates


def evaluate(
    *,
    items: Iterable[HistoryItem],
    profile: SkinProfile | None,
    ingredients: Iterable[Ingredient],
    numbing_cream: str,
    consultation: Consultation | None,
    on: date,
    patient: Patient | None = None,
    consent: ConsentStatus | None = None,
) -> list[Finding]:
    """The patient's rule table and the plan's rules. Pure: it reads only what it is given."""
    facts = Facts(
        items=list(items),
        profile=profile,
        on=on,
        patient=patient,
        extra={
            "ingredients": list(ingredients),
            "numbing_cream": numbing_cream,
            "consultation": consultation,
            "consent": consent,
        },
    )
    return evaluate_rules(facts, [*RULES, *PLAN_RULES])


def session_findings(
    *, session: TreatmentSession, plan: TreatmentPlan, previous_signed: TreatmentSession | None
) -> list[Finding]:
    """The rules about the session record itself, checked at signing."""
    facts = Facts(
        items=[],
        profile=None,
        on=timezone.localtime(session.performed_at).date(),
        extra={"session": session, "plan": plan, "previous_signed": previous_signed},
    )
    findings = evaluate_rules(facts, SESSION_RULES)
    for finding in findings:
        # An override of these holds for this session only, not for the rest of the course.
        finding.code = f"{finding.rule}:session-{session.pk}"
    return findings


def plan_ingredients(plan: TreatmentPlan | None, products=None) -> list[Ingredient]:
    if products is None:
        if plan is None or plan.pk is None:
            return []
        return list(Ingredient.objects.filter(products__in=plan.plan_products.values("product_id")).distinct())
    return list(Ingredient.objects.filter(products__in=[product.pk for product in products]).distinct())


def previous_signed_session(session: TreatmentSession) -> TreatmentSession | None:
    """The latest signed session of the course given before ``session``."""
    return (
        TreatmentSession.objects.filter(
            plan_id=session.plan_id, status=TreatmentSession.Status.SIGNED, performed_at__lte=session.performed_at
        )
        .exclude(pk=session.pk)
        .order_by("-performed_at")
        .first()
    )


def safety_check(
    *,
    patient: Patient,
    on: date,
    plan: TreatmentPlan | None = None,
    consultation: Consultation | None = None,
    products=None,
    numbing_cream: str | None = None,
    session: TreatmentSession | None = None,
) -> SafetyCheck:
    """Check ``patient`` against a plan (saved, or about to be made from ``products`` and
    ``numbing_cream``) on day ``on``, and against ``session`` when one is being signed;
    overrides recorded for the plan are attached."""
    items = list(patient.history_items.current())
    profile = patient.skin_profiles.current().first()
    if numbing_cream is None:
        numbing_cream = plan.numbing_cream if plan is not None else NumbingCream.NONE
    if consultation is None and plan is not None:
        consultation = plan.consultation
    findings = evaluate(
        items=items,
        profile=profile,
        ingredients=plan_ingredients(plan, products),
        numbing_cream=numbing_cream,
        consultation=consultation,
        on=on,
        patient=patient,
        consent=consent_in_force(patient, ConsentDocument.Procedure.MESOTHERAPY, on=on),
    )
    if session is not None and plan is not None:
        findings += session_findings(session=session, plan=plan, previous_signed=previous_signed_session(session))
    if plan is not None and plan.pk is not None:
        overrides = {}
        for override in plan.safety_overrides.select_related("overridden_by").order_by("overridden_at"):
            overrides[override.finding_code] = override
        for finding in findings:
            if finding.level == BLOCK:
                finding.override = overrides.get(finding.code)
    return SafetyCheck(
        findings=findings,
        history_recorded=bool(items) or profile is not None,
        history_reviewed_on=history_reviewed_on(patient),
    )


def anaesthetic_allergies(items: Iterable[HistoryItem]) -> list[HistoryItem]:
    return [
        item
        for item in items
        if item.category == HistoryItem.Category.ALLERGY
        and item.code == HistoryItem.Code.LOCAL_ANAESTHETIC
        and item.status != HistoryItem.Status.ENTERED_IN_ERROR
    ]


def default_numbing_cream(items: Iterable[HistoryItem]) -> str:
    """What a new plan offers first: no cream at all when any anaesthetic allergy is recorded."""
    if anaesthetic_allergies(items):
        return NumbingCream.NONE
    return TreatmentPlan._meta.get_field("numbing_cream").default


def product_contraindication(product, items: Iterable[HistoryItem]) -> str:
    """Why ``product`` must not be injected into this patient (empty if nothing is known):
    the same ingredient match as the plan's allergy rule. ``product.ingredients`` is read
    from the prefetch when there is one."""
    for item in items:
        if item.status == HistoryItem.Status.ENTERED_IN_ERROR or item.category != HistoryItem.Category.ALLERGY:
            continue
        if item.code not in {HistoryItem.Code.INGREDIENT, HistoryItem.Code.OTHER}:
            continue
        found = [ing.name for ing in product.ingredients.all() if ingredient_matches(item.name, ing.name)]
        if found:
            return f"contraindicated: allergy to {item.name} ({', '.join(found)})"
    return ""
