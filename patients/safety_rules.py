"""The clinical safety rule table: what in a patient's medical history and skin profile speaks
against facial mesotherapy (a contraindication, level BLOCK) or needs care (a warning, WARN).

One table, read by every path: the safety summary on the patient's pages, the plan's safety
check, the start of a course and the signing of each session. The plan check adds the rules
that need a plan (treatments/safety.py: the cocktail's ingredients, the numbing cream, the
consultation's verdict, consent); it never restates these.

Each ``Rule`` says which records it reads (``reads``) and, for a history rule, which entries it
applies to (``applies``). A history rule gives one ``Finding`` per matching entry, keyed by the
entry's lineage (a revised entry keeps its override); a profile rule gives at most one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from patients.models import HistoryItem, Patient, SkinProfile

BLOCK = "block"  # a contraindication: the treatment waits, or a doctor overrides it with a written reason
WARN = "warn"  # needs attention, does not stop the treatment
GATE = "gate"  # a legal precondition (consent): refused, and no override can lift it

HISTORY = "medical history"
PROFILE = "skin profile"

ISOTRETINOIN_WASHOUT = timedelta(days=183)
RESURFACING_WASHOUT = timedelta(days=14)
RESURFACING_CODES = {
    HistoryItem.Code.CHEMICAL_PEEL,
    HistoryItem.Code.LASER,
    HistoryItem.Code.MICRONEEDLING,
    HistoryItem.Code.DERMAL_FILLER,
    HistoryItem.Code.BOTULINUM_TOXIN,
}
# Who could be pregnant, so that pregnancy status starts as "not asked yet" (a warning until
# answered) instead of "not applicable": anyone not recorded as male, aged 12 to 55.
CHILDBEARING_AGES = range(12, 56)


def could_be_pregnant(patient: Patient, on: date) -> bool:
    return patient.sex != Patient.Sex.MALE and patient.age_on(on) in CHILDBEARING_AGES


@dataclass
class Finding:
    code: str  # the rule's code, plus ":<lineage>" for a history entry: the key of overrides
    level: str  # BLOCK, WARN or GATE
    title: str
    reason: str
    rule: str = ""  # the rule's code alone
    record: str = ""  # the record the finding comes from, named for people
    is_allergy: bool = False
    details: str = ""  # what the history entry says (e.g. the reaction to an allergen)
    override: Any = None  # the SafetyOverride that lifts a BLOCK, attached by the plan check

    def __post_init__(self) -> None:
        self.rule = self.rule or self.code.split(":", 1)[0]

    @property
    def blocks(self) -> bool:
        return self.level in {BLOCK, GATE}

    @property
    def is_gate(self) -> bool:
        return self.level == GATE

    @property
    def is_overridden(self) -> bool:
        return self.override is not None

    @property
    def level_label(self) -> str:
        if self.level == GATE:
            return "Refused: no override"
        if self.level == BLOCK:
            return "Overridden" if self.is_overridden else "Blocks treatment"
        return "Warning"

    @property
    def source(self) -> str:
        """The rule and the record, as a refusal names them."""
        return f"rule {self.rule}, from {self.record}" if self.record else f"rule {self.rule}"

    def describe(self) -> str:
        return f"{self.title}: {self.reason} ({self.source})"


class GroupedFindings:
    """How a banner lists ``findings``: allergies, then contraindications, then warnings."""

    findings: list[Finding]

    @property
    def allergies(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.is_allergy]

    @property
    def contraindications(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.blocks and not finding.is_allergy]

    @property
    def cautions(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.blocks and not finding.is_allergy]

    @property
    def groups(self) -> list[tuple[str, list[Finding]]]:
        return [
            ("Allergies", self.allergies),
            ("Contraindications and refusals", self.contraindications),
            ("Warnings", self.cautions),
        ]


@dataclass(frozen=True)
class Facts:
    """What the rules read about one patient on one day."""

    items: list[HistoryItem]
    profile: SkinProfile | None
    on: date
    patient: Patient | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what the plan check adds


@dataclass(frozen=True)
class Rule:
    code: str
    level: str
    title: str  # "{name}" is the history entry's name
    reason: str
    reads: str  # HISTORY or PROFILE here; the plan rules read other records
    applies: Callable[..., bool]  # (entry, facts) for a history rule, (facts) otherwise
    category: str = ""  # a history rule: the category of the entries it reads, one finding per entry
    is_allergy: bool = False
    # Rules whose reason or record depend on the facts (the plan's rules) give them here.
    detail: Callable[..., dict[str, str]] | None = None  # (facts) -> fields for reason's {placeholders}
    record: Callable[[Facts], str] | None = None  # (facts) -> the record named in a refusal

    def findings(self, facts: Facts) -> list[Finding]:
        if not self.category:
            if not self.applies(facts):
                return []
            reason = self.reason.format(**self.detail(facts)) if self.detail else self.reason
            record = self.record(facts) if self.record else profile_record(facts)
            return [Finding(self.code, self.level, self.title, reason, self.code, record, self.is_allergy)]
        found = []
        for entry in facts.items:
            if entry.status == HistoryItem.Status.ENTERED_IN_ERROR or entry.category != self.category:
                continue
            if self.applies(entry, facts):
                reason = self.reason.format(**self.detail(entry, facts)) if self.detail else self.reason
                found.append(
                    Finding(
                        f"{self.code}:{entry.lineage}",
                        self.level,
                        self.title.format(name=entry.name),
                        reason,
                        self.code,
                        history_record(entry),
                        self.is_allergy,
                        details=entry.details,
                    )
                )
        return found


def profile_record(facts: Facts) -> str:
    if facts.profile is None:
        return "the skin profile (none recorded)"
    return f"skin profile v{facts.profile.version} of {facts.profile.recorded_at:%d/%m/%Y}"


def history_record(entry: HistoryItem) -> str:
    return f"medical history entry '{entry.name}' ({entry.get_category_display().lower()}, v{entry.version})"


def _current(entry: HistoryItem) -> bool:
    return entry.status == HistoryItem.Status.CURRENT


def _condition(code: str, *, current: bool) -> Callable[[HistoryItem, Facts], bool]:
    return lambda entry, facts: entry.code == code and (_current(entry) or not current)


def _isotretinoin_recent(entry: HistoryItem, facts: Facts) -> bool:
    if entry.code != HistoryItem.Code.ISOTRETINOIN:
        return False
    return _current(entry) or (entry.ended_on is not None and facts.on - entry.ended_on < ISOTRETINOIN_WASHOUT)


def _resurfacing_recent(entry: HistoryItem, facts: Facts) -> bool:
    when = entry.ended_on or entry.started_on
    return (
        entry.code in RESURFACING_CODES and when is not None and timedelta(0) <= facts.on - when < RESURFACING_WASHOUT
    )


def _pregnancy(value: str) -> Callable[[Facts], bool]:
    return lambda facts: facts.profile is not None and facts.profile.pregnancy == value


def _pregnancy_unknown(facts: Facts) -> bool:
    if facts.profile is not None:
        return facts.profile.pregnancy == SkinProfile.Pregnancy.UNKNOWN
    return facts.patient is None or could_be_pregnant(facts.patient, facts.on)


Code, Category = HistoryItem.Code, HistoryItem.Category

RULES: list[Rule] = [
    # Pregnancy and breastfeeding (skin profile)
    Rule("pregnancy", BLOCK, "Pregnant",
         "Mesotherapy is not given during pregnancy: the safety of the injected products is not established.",
         PROFILE, _pregnancy(SkinProfile.Pregnancy.PREGNANT)),
    Rule("breastfeeding", BLOCK, "Breastfeeding",
         "Mesotherapy is not given while breastfeeding: the products may pass into breast milk.",
         PROFILE, _pregnancy(SkinProfile.Pregnancy.BREASTFEEDING)),
    Rule("trying_to_conceive", WARN, "Trying to conceive",
         "Confirm the patient is not pregnant before each session.",
         PROFILE, _pregnancy(SkinProfile.Pregnancy.TRYING)),
    Rule("pregnancy_unknown", WARN, "Pregnancy status not recorded",
         "Ask about pregnancy and breastfeeding and record the answer in the skin profile before treating.",
         PROFILE, _pregnancy_unknown),
    # Conditions
    Rule("skin_infection", BLOCK, "Active skin infection: {name}",
         "Injecting through infected skin spreads the infection: treat it first.",
         HISTORY, _condition(Code.SKIN_INFECTION, current=True), Category.CONDITION),
    Rule("herpes_active", BLOCK, "Active herpes: {name}",
         "Injections during an outbreak spread the virus: wait until it has healed.",
         HISTORY, _condition(Code.HERPES, current=True), Category.CONDITION),
    Rule("herpes_history", WARN, "History of cold sores: {name}",
         "Needling can trigger an outbreak: consider antiviral prophylaxis.",
         HISTORY, lambda entry, facts: entry.code == Code.HERPES and not _current(entry), Category.CONDITION),
    Rule("bleeding_disorder", BLOCK, "Bleeding disorder: {name}",
         "Risk of bleeding and haematoma at the injection sites.",
         HISTORY, _condition(Code.BLEEDING_DISORDER, current=True), Category.CONDITION),
    Rule("autoimmune", BLOCK, "Autoimmune disease: {name}",
         "Injected products may trigger a flare or an unpredictable reaction.",
         HISTORY, _condition(Code.AUTOIMMUNE, current=True), Category.CONDITION),
    Rule("cancer", BLOCK, "Cancer under treatment: {name}",
         "Needs the oncologist's agreement before any injection.",
         HISTORY, _condition(Code.CANCER, current=True), Category.CONDITION),
    Rule("keloid", WARN, "Keloid tendency: {name}",
         "Risk of raised scars at injection sites: use the finest needle, fewest points.",
         HISTORY, _condition(Code.KELOID, current=False), Category.CONDITION),
    Rule("diabetes", WARN, "Diabetes: {name}",
         "Slower healing and a higher risk of infection.",
         HISTORY, _condition(Code.DIABETES, current=True), Category.CONDITION),
    Rule("epilepsy", WARN, "Epilepsy: {name}",
         "Keep the session calm and short; check the patient's triggers.",
         HISTORY, _condition(Code.EPILEPSY, current=True), Category.CONDITION),
    # Allergies: every recorded allergy is shown; the plan check blocks a plan that uses the allergen.
    Rule("allergy_local_anaesthetic", WARN, "Allergy to local anaesthetic: {name}",
         "No numbing cream containing a local anaesthetic may be used.",
         HISTORY, _condition(Code.LOCAL_ANAESTHETIC, current=False), Category.ALLERGY, is_allergy=True),
    Rule("allergy_latex", WARN, "Latex allergy: {name}",
         "Use latex-free gloves and equipment.",
         HISTORY, _condition(Code.LATEX, current=False), Category.ALLERGY, is_allergy=True),
    Rule("allergy_mesotherapy_ingredient", WARN, "Allergy to a mesotherapy ingredient: {name}",
         "Check the full composition of every product injected.",
         HISTORY, _condition(Code.INGREDIENT, current=False), Category.ALLERGY, is_allergy=True),
    Rule("allergy_other", WARN, "Allergy: {name}",
         "Check it against every product and material used.",
         HISTORY, _condition(Code.OTHER, current=False), Category.ALLERGY, is_allergy=True),
    # Medications
    Rule("anticoagulant", WARN, "Anticoagulant: {name}",
         "More bruising is likely: press each point longer and warn the patient.",
         HISTORY, _condition(Code.ANTICOAGULANT, current=True), Category.MEDICATION),
    Rule("isotretinoin", BLOCK, "Recent isotretinoin: {name}",
         "Healing is impaired until six months after the last dose.",
         HISTORY, _isotretinoin_recent, Category.MEDICATION),
    Rule("immunosuppressant", WARN, "Immunosuppressant: {name}",
         "Higher risk of infection at the injection sites.",
         HISTORY, _condition(Code.IMMUNOSUPPRESSANT, current=True), Category.MEDICATION),
    # Previous aesthetic treatments
    Rule("recent_treatment", WARN, "Recent resurfacing or injectable treatment: {name}",
         "Less than two weeks ago: the skin may not have recovered.",
         HISTORY, _resurfacing_recent, Category.PREVIOUS_TREATMENT),
]  # fmt: skip

RULES_BY_CODE = {rule.code: rule for rule in RULES}


def evaluate_rules(facts: Facts, rules: Iterable[Rule] = RULES) -> list[Finding]:
    """Every finding of ``rules`` for ``facts``, in the table's order. Pure: reads only ``facts``."""
    return [finding for rule in rules for finding in rule.findings(facts)]
