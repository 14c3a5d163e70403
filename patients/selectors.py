"""Reads of patient records that are more than one queryset call."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Case, Q, QuerySet, When
from django.utils import timezone

from patients.models import (
    ConsentDocument,
    ConsentRecord,
    HistoryItem,
    NameWord,
    Patient,
    SkinProfile,
    search_words_expression,
)
from patients.phones import try_normalize_phone

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d %m %Y")
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")


def normalize_name(text: str) -> str:
    """Lower case, accents removed, spaces folded: the same shape as Patient.search_key."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.lower().split())


def parse_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def patient_search(query: str, *, include_archived: bool = False) -> QuerySet[Patient]:
    """Patients matching one search box: part of a name (accent and case insensitive,
    tolerant of small typos), a phone number in any common format, an email address or a
    date of birth. Best matches first."""
    patients = Patient.objects.all() if include_archived else Patient.objects.active()
    query = query.strip()
    if not query:
        return patients.order_by("last_name", "first_name", "id")
    if "@" in query:
        return patients.filter(email=query.lower()).order_by("last_name", "first_name", "id")
    born = parse_date(query)
    if born is not None:
        return patients.filter(date_of_birth=born).order_by("last_name", "first_name", "id")
    if PHONE_LIKE.match(query):
        e164 = try_normalize_phone(query)
        digits = re.sub(r"\D", "", query).lstrip("0")
        condition = Q(phone__contains=digits)
        if e164:
            condition |= Q(phone=e164)
        return patients.filter(condition).order_by("last_name", "first_name", "id")
    return _name_search(patients, normalize_name(query))


# Letters of the search keys (lower case, accents removed): what a misspelt letter may have been.
NAME_LETTERS = "abcdefghijklmnopqrstuvwxyz'"
# Shorter words are matched as typed: one letter off "al" is half the clinic.
FUZZY_MIN_LENGTH = 3


def one_edit_away(word: str) -> set[str]:
    """Every word one slip from ``word``: a letter left out, one too many, one wrong, or two
    neighbours swapped (the usual typing mistakes); ``word`` itself included."""
    letters = NAME_LETTERS + "".join(set(word) - set(NAME_LETTERS))
    variants = {word}
    for index in range(len(word) + 1):
        head, tail = word[:index], word[index:]
        if tail:
            variants.add(head + tail[1:])
            variants.update(head + letter + tail[1:] for letter in letters)
        if len(tail) > 1:
            variants.add(head + tail[1] + tail[0] + tail[2:])
        variants.update(head + letter + tail for letter in letters)
    return variants


def _known_words(candidates: set[str]) -> set[str]:
    """Which of ``candidates`` (hundreds) some patient's name contains. One array parameter, not
    hundreds of IN placeholders: PostgreSQL plans it in a fraction of the time."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT word FROM {NameWord._meta.db_table} WHERE word = ANY(%s)", [sorted(candidates)])  # noqa: S608 - the table name is ours
        return {word for (word,) in cursor.fetchall()}


def _name_search(patients: QuerySet[Patient], name: str) -> QuerySet[Patient]:
    """Every typed word must begin or appear in a word of the name, or be one slip away from
    one (a word some patient bears: looked up in NameWord, then found through the index on
    each patient's words). Best first: the words as typed, then misspelt ones, then the
    words found inside others; then by name."""
    typed = name.split(" ")
    fuzzy = [word for word in typed if len(word) >= FUZZY_MIN_LENGTH]
    variants = {word: one_edit_away(word) for word in fuzzy}
    known = _known_words(set().union(*variants.values())) if variants else set()
    condition = Q()
    rank = []
    for word in typed:
        matches = Q(search_key__contains=word)
        order = [When(search_key__regex=rf"(^|[ .-]){re.escape(word)}", then=0)]
        neighbours = sorted(variants.get(word, set()) & known)
        if neighbours:
            matches |= Q(search_words__overlap=neighbours)
            order.append(When(search_words__overlap=neighbours, then=1))
        condition &= matches
        rank.append(Case(*order, default=2))
    return (
        patients.alias(search_words=search_words_expression())
        .filter(condition)
        .alias(mismatch=sum(rank[1:], rank[0]))
        .order_by("mismatch", "last_name", "first_name", "id")
    )


def possible_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phone: str = "",
    email: str = "",
    exclude_pk: int | None = None,
) -> list[Patient]:
    """Records that may be the same person: same name and date of birth, or same phone or
    email. Archived records are included: a returning patient should be restored, not
    registered twice."""
    condition = Q()
    if date_of_birth is not None and first_name and last_name:
        condition |= Q(search_key=normalize_name(f"{first_name} {last_name}"), date_of_birth=date_of_birth)
    if phone:
        condition |= Q(phone=phone)
    if email:
        condition |= Q(email=email.lower())
    if not condition:
        return []
    candidates = Patient.objects.filter(condition)
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    return list(candidates.order_by("last_name", "first_name", "id")[:10])


@dataclass(frozen=True)
class SafetyFlag:
    level: str  # "danger" blocks most treatments, "warning" needs attention
    label: str
    detail: str


ISOTRETINOIN_WASHOUT = timedelta(days=183)


def patient_safety_summary(patient: Patient, *, items=None, profile=None) -> list[SafetyFlag]:
    """What matters for treatment safety, for the top of the patient's clinical page."""
    today = timezone.localdate()
    if items is None:
        items = list(patient.history_items.current())
    if profile is None:
        profile = patient.skin_profiles.current().first()
    flags: list[SafetyFlag] = []
    if profile is not None and profile.pregnancy in {
        SkinProfile.Pregnancy.PREGNANT,
        SkinProfile.Pregnancy.BREASTFEEDING,
    }:
        flags.append(SafetyFlag("danger", profile.get_pregnancy_display(), "Mesotherapy is not given."))
    danger_conditions = {
        HistoryItem.Code.SKIN_INFECTION: "Treat the infection first.",
        HistoryItem.Code.HERPES: "Risk of an outbreak at injection sites.",
        HistoryItem.Code.BLEEDING_DISORDER: "Risk of bleeding and haematoma.",
        HistoryItem.Code.CANCER: "Needs the oncologist's agreement.",
    }
    warning_conditions = {
        HistoryItem.Code.AUTOIMMUNE: "May react unpredictably to injected products.",
        HistoryItem.Code.KELOID: "Risk of scarring at injection sites.",
        HistoryItem.Code.DIABETES: "Slower healing, higher infection risk.",
        HistoryItem.Code.EPILEPSY: "Keep the session calm; check triggers.",
    }
    for item in items:
        if item.status == HistoryItem.Status.ENTERED_IN_ERROR:
            continue
        current = item.status == HistoryItem.Status.CURRENT
        if item.category == HistoryItem.Category.ALLERGY:
            flags.append(SafetyFlag("danger", f"Allergy: {item.name}", item.details or item.get_code_display()))
        elif item.category == HistoryItem.Category.CONDITION and current and item.code in danger_conditions:
            flags.append(SafetyFlag("danger", item.get_code_display(), danger_conditions[item.code]))
        elif item.category == HistoryItem.Category.CONDITION and current and item.code in warning_conditions:
            flags.append(SafetyFlag("warning", item.get_code_display(), warning_conditions[item.code]))
        elif (
            item.category == HistoryItem.Category.MEDICATION and item.code == HistoryItem.Code.ANTICOAGULANT and current
        ):
            flags.append(SafetyFlag("warning", f"Anticoagulant: {item.name}", "Expect more bruising."))
        elif item.category == HistoryItem.Category.MEDICATION and item.code == HistoryItem.Code.ISOTRETINOIN:
            recent = current or (item.ended_on is not None and today - item.ended_on < ISOTRETINOIN_WASHOUT)
            if recent:
                flags.append(SafetyFlag("danger", f"Isotretinoin: {item.name}", "Wait six months after the last dose."))
        elif (
            item.category == HistoryItem.Category.MEDICATION
            and item.code == HistoryItem.Code.IMMUNOSUPPRESSANT
            and current
        ):
            flags.append(SafetyFlag("warning", f"Immunosuppressant: {item.name}", "Higher infection risk."))
    return flags


def history_versions(item: HistoryItem) -> QuerySet[HistoryItem]:
    return HistoryItem.objects.filter(lineage=item.lineage).select_related("recorded_by").order_by("-version")


def consents_for(patient: Patient) -> QuerySet[ConsentRecord]:
    return patient.consents.select_related("document", "witnessed_by", "recorded_by", "withdrawn_by")


def consent_in_force(patient: Patient, procedure: str) -> ConsentRecord | None:
    """The patient's consent to ``procedure`` that is in force: not withdrawn, and agreed to
    the current version of its text (a consent to a superseded version no longer counts)."""
    return (
        patient.consents.in_force()
        .filter(document__in=ConsentDocument.objects.current(), document__procedure=procedure)
        .select_related("document")
        .order_by("-given_at")
        .first()
    )
