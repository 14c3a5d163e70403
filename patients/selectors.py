"""Reads of patient records that are more than one queryset call."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, Count, Q, QuerySet, When, Window
from django.utils import timezone

from clinic.prepared import PreparedStatement
from clinic.rows import columns, split_row
from patients.models import (
    SEARCH_WORD_SEPARATORS,
    ConsentDocument,
    ConsentRecord,
    HistoryItem,
    NameWord,
    Patient,
    SkinProfile,
    search_words_expression,
)
from patients.phones import try_normalize_phone
from patients.safety_rules import Facts, Finding, GroupedFindings, evaluate_rules

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
    # Placeholders standing for erased patients (patients/erasure.py) are nobody to find.
    patients = patients.filter(erased_at__isnull=True)
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


def patient_search_page(query: str, *, include_archived: bool = False, number, per_page: int) -> Page:
    """Page ``number`` of patient_search (the page Paginator.get_page would give) and the
    number of matches. A search reads its page and its count in one statement
    (count(*) OVER (): PostgreSQL ranks every match to sort them anyway), not two; only a
    page past the end needs the count first. The whole list (no search) keeps the usual two:
    its page is read from an index, which counting every row in the same statement would defeat.
    A name (what receptionists type most) is searched through a written-out statement
    (_name_search_page)."""
    query = query.strip()
    if query and _is_name_query(query):
        return _name_search_page(
            normalize_name(query), include_archived=include_archived, number=number, per_page=per_page
        )
    patients = patient_search(query, include_archived=include_archived)
    paginator = Paginator(patients, per_page)
    if query:
        wanted = _page_wanted(number)
        if wanted >= 1:
            start = (wanted - 1) * per_page
            rows = list(patients.annotate(match_count=Window(Count("*")))[start : start + per_page])
            if rows or wanted == 1:
                paginator.count = rows[0].match_count if rows else 0  # Paginator.count is a cached property
                return Page(rows, wanted, paginator)
    return paginator.get_page(number)


def _page_wanted(number) -> int:
    try:
        return int(number) if number is not None else 1
    except (TypeError, ValueError):
        return 1  # as get_page: a page that is not a number is the first


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
    """Which of ``candidates`` (hundreds) some patient's name contains. One parameter, not
    hundreds of IN placeholders: PostgreSQL plans it in a fraction of the time. The words joined
    by spaces (a word of normalize_name has none), not a list: psycopg2 quotes one string
    instead of hundreds, half the cost of the lookup."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT word FROM {NameWord._meta.db_table} WHERE word = ANY(string_to_array(%s, ' '))",  # noqa: S608 - the table name is ours
            [" ".join(sorted(candidates))],
        )
        return {word for (word,) in cursor.fetchall()}


def _name_words(name: str) -> list[tuple[str, list[str]]]:
    """Each typed word of ``name`` with the words some patient bears one slip from it (none for
    a short word): what both forms of the name search below look for."""
    typed = name.split(" ")
    fuzzy = [word for word in typed if len(word) >= FUZZY_MIN_LENGTH]
    variants = {word: one_edit_away(word) for word in fuzzy}
    known = _known_words(set().union(*variants.values())) if variants else set()
    return [(word, sorted(variants.get(word, set()) & known)) for word in typed]


def _name_search(patients: QuerySet[Patient], name: str) -> QuerySet[Patient]:
    """Every typed word must begin or appear in a word of the name, or be one slip away from
    one (a word some patient bears: looked up in NameWord, then found through the index on
    each patient's words). Best first: the words as typed, then misspelt ones, then the
    words found inside others; then by name."""
    condition = Q()
    rank = []
    for word, neighbours in _name_words(name):
        matches = Q(search_key__contains=word)
        order = [When(search_key__regex=_word_start(word), then=0)]
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


def _word_start(word: str) -> str:
    """A regular expression: ``word`` at the start of a word of the search key."""
    return rf"(^|[ .-]){re.escape(word)}"


def _is_name_query(query: str) -> bool:
    """Whether patient_search reads ``query`` (stripped, not empty) as a name."""
    return "@" not in query and parse_date(query) is None and not PHONE_LIKE.match(query)


# What the search page shows of each patient (in the model's field order, as Model.from_db wants).
SEARCH_PAGE_FIELDS = ("id", "first_name", "last_name", "date_of_birth", "phone", "email", "archived_at")


def _name_search_sql(name: str, *, include_archived: bool) -> tuple[str, list, str, list]:
    """The WHERE and ORDER BY of _name_search written out, with their parameters: the same
    conditions and order, word for word (tests/patients/test_search.py compares the two)."""
    search_words = "regexp_split_to_array(search_key, %s)"
    conditions = ["erased_at IS NULL"] if include_archived else ["archived_at IS NULL", "erased_at IS NULL"]
    condition_params: list = []
    ranks: list[str] = []
    rank_params: list = []
    for word, neighbours in _name_words(name):
        # search_key::text as the ORM writes it, so that the trigram index is used the same way.
        contains = "%" + connection.ops.prep_for_like_query(word) + "%"
        if neighbours:
            conditions.append(f"(search_key::text LIKE %s OR {search_words} && %s::text[])")
            condition_params += [contains, SEARCH_WORD_SEPARATORS, neighbours]
            ranks.append(f"CASE WHEN search_key::text ~ %s THEN 0 WHEN {search_words} && %s::text[] THEN 1 ELSE 2 END")
            rank_params += [_word_start(word), SEARCH_WORD_SEPARATORS, neighbours]
        else:
            conditions.append("search_key::text LIKE %s")
            condition_params.append(contains)
            ranks.append("CASE WHEN search_key::text ~ %s THEN 0 ELSE 2 END")
            rank_params.append(_word_start(word))
    order = f"{' + '.join(ranks)}, last_name, first_name, id"
    return " AND ".join(conditions), condition_params, order, rank_params


def _name_search_page(name: str, *, include_archived: bool, number, per_page: int) -> Page:
    """patient_search_page for a name, its statements written out: the search page is the
    busiest there is, and the ORM spent longer building the statement (a CASE a typed word, an
    alias, a window) than PostgreSQL spends running it. The same statements as the ORM path
    (the known words, then the page with its count; for a page past the end the count, then
    the last page), and the same page; the patients come with only the fields the page shows."""
    where, where_params, order, order_params = _name_search_sql(name, include_archived=include_archived)
    table = Patient._meta.db_table

    def patients_from(offset: int) -> tuple[list[Patient], int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(SEARCH_PAGE_FIELDS)}, count(*) OVER () FROM {table} WHERE {where}"  # noqa: S608 - our names, placeholders
                f" ORDER BY {order} LIMIT %s OFFSET %s",
                [*where_params, *order_params, per_page, offset],
            )
            found = cursor.fetchall()
        alias = connection.alias  # connection is a proxy: read its alias once, not once a row
        return [Patient.from_db(alias, SEARCH_PAGE_FIELDS, row[:-1]) for row in found], (found[0][-1] if found else 0)

    paginator = Paginator([], per_page)
    wanted = _page_wanted(number)
    if wanted >= 1:
        rows, paginator.count = patients_from((wanted - 1) * per_page)  # Paginator.count is a cached property
        if rows or wanted == 1:
            return Page(rows, wanted, paginator)
    # A page past the end, or before the first: the last page, as Paginator.get_page gives.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", where_params)  # noqa: S608 - as above
        paginator.count = cursor.fetchone()[0]
    last = paginator.num_pages
    rows = patients_from((last - 1) * per_page)[0] if paginator.count else []
    return Page(rows, last, paginator)


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
    candidates = Patient.objects.filter(condition, erased_at__isnull=True)
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    return list(candidates.order_by("last_name", "first_name", "id")[:10])


@dataclass(frozen=True)
class SafetySummary(GroupedFindings):
    """The patient's safety findings from the rule table, and how far the history can be trusted."""

    findings: list[Finding]
    history_recorded: bool  # any history entry or skin profile at all
    history_reviewed_on: date | None  # the last signed consultation that reviewed it


def history_reviewed_on(patient: Patient) -> date | None:
    """The day of the latest signed consultation that reviewed the medical history with the
    patient (read through the reverse relation: patients does not import treatments)."""
    return (
        patient.consultations.filter(status="signed", history_reviewed=True)
        .order_by("-consulted_on")
        .values_list("consulted_on", flat=True)
        .first()
    )


_NOT_READ = object()


def patient_safety_summary(
    patient: Patient, *, items=None, profile=None, reviewed_on=_NOT_READ, on: date | None = None
) -> SafetySummary:
    """The rule table applied to the patient's history and skin profile: the same findings,
    with the same levels and codes, as the plan's safety check gives for them. The caller
    may pass what it has read already (``patient_safety_reads``)."""
    on = on or timezone.localdate()
    if items is None:
        items = list(patient.history_items.current())
    if profile is None:
        profile = patient.skin_profiles.current().first()
    findings = evaluate_rules(Facts(items=list(items), profile=profile, on=on, patient=patient))
    return SafetySummary(
        findings=findings,
        history_recorded=bool(items) or profile is not None,
        history_reviewed_on=history_reviewed_on(patient) if reviewed_on is _NOT_READ else reviewed_on,
    )


# Column names from the models (no input in these f-strings).
_CURRENT_HISTORY = PreparedStatement(
    "current_history",
    f"""
SELECT {columns(HistoryItem, "h")} FROM patients_historyitem h
 WHERE h.patient_id = %(patient)s AND h.superseded_at IS NULL
 ORDER BY h.category, h.recorded_at DESC
""",  # noqa: S608
)
# The current skin profile (if any) and the day of the last signed consultation that reviewed
# the history (the table is named, not imported: patients does not import treatments).
_CURRENT_PROFILE = PreparedStatement(
    "current_profile",
    f"""
SELECT {columns(SkinProfile, "s")},
       (SELECT c.consulted_on FROM treatments_consultation c
         WHERE c.patient_id = %(patient)s AND c.history_reviewed AND c.status = 'signed'
         ORDER BY c.consulted_on DESC LIMIT 1)
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT * FROM patients_skinprofile
                      WHERE patient_id = %(patient)s AND superseded_at IS NULL
                      ORDER BY version DESC LIMIT 1) s ON TRUE
""",  # noqa: S608
)


def patient_safety_reads(patient: Patient) -> tuple[list[HistoryItem], SkinProfile | None, date | None]:
    """What patient_safety_summary reads, in two written-out statements: the current history
    entries (as ``history_items.current()`` orders them), the current skin profile and the
    day the history was last reviewed (history_reviewed_on)."""
    with connection.cursor() as cursor:
        _CURRENT_HISTORY.execute(cursor, {"patient": patient.pk})
        items = [split_row(row, [HistoryItem])[0] for row in cursor.fetchall()]
        _CURRENT_PROFILE.execute(cursor, {"patient": patient.pk})
        *profile_row, reviewed_on = cursor.fetchone()
    (profile,) = split_row(profile_row, [SkinProfile])
    return items, profile, reviewed_on


@dataclass(frozen=True)
class ConsentStatus:
    """Whether a consent to ``procedure`` is in force, and if not, why (a sentence for the page)."""

    in_force: bool
    message: str
    record: ConsentRecord | None = None
    current_document: ConsentDocument | None = None


def current_consent_document(procedure: str, *, on: date | None = None) -> ConsentDocument | None:
    """The version of the consent text in use for ``procedure`` on ``on``: the newest one in effect."""
    return ConsentDocument.objects.current(on=on).filter(procedure=procedure).first()


def consent_in_force(patient: Patient, procedure: str, *, on: date | None = None) -> ConsentStatus:
    """The patient's consent to ``procedure``: in force when given, not withdrawn, to the current
    version of the text. A newer version published since asks for re-consent. Used as a gate
    (course start and session signing for mesotherapy, photo upload for photography): a missing
    consent is refused and no override lifts it."""
    procedure_label = ConsentDocument.Procedure(procedure).label.lower()
    document = current_consent_document(procedure, on=on)
    records = list(
        patient.consents.filter(document__procedure=procedure).select_related("document").order_by("-given_at")
    )
    if document is None:
        return ConsentStatus(False, f"No consent text for {procedure_label} is published: the consent cannot be given.")
    in_force = [record for record in records if record.withdrawn_at is None]
    for record in in_force:
        if record.document_id == document.pk:
            return ConsentStatus(True, "", record, document)
    if in_force:
        older = in_force[0]
        return ConsentStatus(
            False,
            f"Consent to {procedure_label} must be given again: {patient.full_name} consented to version "
            f"{older.document.version} on {timezone.localtime(older.given_at):%d/%m/%Y}, and version "
            f"{document.version} (in effect from {document.effective_from:%d/%m/%Y}) has been published since. "
            "Ask the patient to read and sign the new version (re-consent).",
            older,
            document,
        )
    withdrawn = [record for record in records if record.withdrawn_at is not None]
    if withdrawn:
        return ConsentStatus(
            False,
            f"{patient.full_name} withdrew consent to {procedure_label} on "
            f"{timezone.localtime(withdrawn[0].withdrawn_at):%d/%m/%Y} (consent record {withdrawn[0].pk}): "
            f"record a new consent (version {document.version}) first.",
            withdrawn[0],
            document,
        )
    return ConsentStatus(
        False,
        f"No consent to {procedure_label} is on file for {patient.full_name}: record the patient's informed "
        f"consent (version {document.version}) first.",
        None,
        document,
    )


def history_versions(item: HistoryItem) -> QuerySet[HistoryItem]:
    return HistoryItem.objects.filter(lineage=item.lineage).select_related("recorded_by").order_by("-version")


def consents_for(patient: Patient) -> QuerySet[ConsentRecord]:
    return patient.consents.select_related("document", "witnessed_by", "recorded_by", "withdrawn_by")


def consent_record_in_force(patient: Patient, procedure: str) -> ConsentRecord | None:
    """The patient's consent to ``procedure`` that is in force (not withdrawn, agreed to the
    current version of its text), or None."""
    status = consent_in_force(patient, procedure)
    return status.record if status.in_force else None


def questionnaires_to_review(patient: Patient) -> list:
    """The patient's submitted intake questionnaires with answers no doctor has decided on yet
    (read through the reverse relation: patients does not import intake)."""
    return list(
        patient.intake_questionnaires.filter(submitted_at__isnull=False, answers__decision="pending")
        .distinct()
        .order_by("-submitted_at")
    )
