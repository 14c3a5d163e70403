import datetime

import pytest
from django.core.paginator import Paginator
from django.template.defaultfilters import date as date_filter

from patients.selectors import patient_search, patient_search_page, possible_duplicates
from patients.templatetags.patients_tags import day_month_year
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def helene():
    return PatientFactory(
        first_name="Hélène",
        last_name="Lefèvre",
        date_of_birth=datetime.date(1985, 1, 31),
        phone="+447911900123",
        email="helene.lefevre@example.com",
    )


@pytest.fixture
def others():
    return [
        PatientFactory(first_name="Marta", last_name="Kowalski"),
        PatientFactory(first_name="Sophie", last_name="Martin"),
    ]


@pytest.mark.parametrize("query", ["helene", "HÉLÈNE", "lefevre", "Lefèvre", "helene lefevre", "lef"])
def test_name_search_ignores_case_and_accents(helene, others, query):
    assert list(patient_search(query)) == [helene]


@pytest.mark.parametrize("query", ["lefebvre", "heleen", "lefevr"])
def test_name_search_tolerates_small_typos(helene, others, query):
    assert helene in list(patient_search(query))


@pytest.mark.parametrize("query", ["07911 900123", "07911900123", "+44 7911 900123", "(07911) 900-123", "900123"])
def test_phone_search_in_any_common_format(helene, others, query):
    assert list(patient_search(query)) == [helene]


def test_email_search_is_case_insensitive(helene, others):
    assert list(patient_search("Helene.Lefevre@Example.com")) == [helene]


@pytest.mark.parametrize("query", ["1985-01-31", "31/01/1985", "31.01.1985"])
def test_date_of_birth_search(helene, others, query):
    assert list(patient_search(query)) == [helene]


def test_search_leaves_out_archived_patients_unless_asked(helene):
    from django.utils import timezone

    helene.archived_at = timezone.now()
    helene.save()
    assert list(patient_search("helene")) == []
    assert list(patient_search("helene", include_archived=True)) == [helene]


def test_unrelated_query_finds_nothing(helene, others):
    assert list(patient_search("zzzzqqq")) == []


@pytest.mark.parametrize(("query", "index"), [("lef", "patient_search_key_trgm"), ("lefevbre", "patient_search_words")])
def test_name_search_uses_the_indexes(helene, query, index):
    from django.db import connection

    PatientFactory.create_batch(30)
    sql, params = patient_search(query).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert index in plan


def test_duplicates_by_name_and_birth_date_ignore_accents_and_case(helene):
    found = possible_duplicates(first_name="helene", last_name="LEFEVRE", date_of_birth=helene.date_of_birth)
    assert found == [helene]


def test_duplicates_by_phone_or_email(helene):
    assert possible_duplicates(
        first_name="X", last_name="Y", date_of_birth=datetime.date(1990, 1, 1), phone="+447911900123"
    ) == [helene]
    assert possible_duplicates(
        first_name="X", last_name="Y", date_of_birth=datetime.date(1990, 1, 1), email="HELENE.lefevre@example.com"
    ) == [helene]


def test_same_name_with_other_birth_date_is_not_a_duplicate(helene):
    assert possible_duplicates(first_name="Hélène", last_name="Lefèvre", date_of_birth=datetime.date(1990, 1, 1)) == []


OTHER_FIRST_NAMES = (
    "Priya", "Tomasz", "Ingrid", "Kwame", "Sofia", "Hiroshi", "Maeve", "Dmitri", "Yara", "Olu",
    "Niamh", "Pedro", "Astrid", "Chidi", "Elif", "Ravi", "Siobhan", "Mateus", "Freya", "Jun",
)  # fmt: skip
OTHER_LAST_NAMES = (
    "Whitfield", "Nakamura", "Oyelaran", "Kowalczyk", "Fitzpatrick", "Lindqvist", "Sorensen", "Papadopoulos",
    "Chakraborty", "Montgomery", "Underwood", "Villanueva", "Yamamoto", "Thistlethwaite", "Quigley", "Esposito",
    "Huxley", "Jankowski", "Pemberton", "Castellanos",
)  # fmt: skip


@pytest.fixture
def gordillos():
    """Patients whose names are one slip from one another, among many others (named here, not
    drawn at random: a drawn "Caitlin Gordon" once stood beside Ana Gordon)."""
    for first_name, last_name in zip(OTHER_FIRST_NAMES, OTHER_LAST_NAMES, strict=True):
        PatientFactory(first_name=first_name, last_name=last_name)
    return {
        "gordillo": PatientFactory(first_name="Lalo", last_name="Gordillo"),
        "gordon": PatientFactory(first_name="Ana", last_name="Gordon"),
        "bahr": PatientFactory(first_name="Alfred", last_name="Bähr"),
        "baum": PatientFactory(first_name="Adamo", last_name="Baum"),
        "rahman": PatientFactory(first_name="Lea", last_name="Rahman"),
        "gebhard": PatientFactory(first_name="Gebhard", last_name="Baxter"),
    }


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ("Gordlilo", "gordillo"),  # two letters swapped
        ("Gordiilo", "gordillo"),  # one letter wrong
        ("Gordilo", "gordillo"),  # one letter missing
        ("Gorrdillo", "gordillo"),  # one letter too many
        ("Bhar", "bahr"),  # swapped, in a short name
        ("Baim", "baum"),  # a letter wrong, in a short name
        ("Bum", "baum"),  # missing, in a short name
        ("Rahmen", "rahman"),
        ("lalo gordlilo", "gordillo"),  # first and last name, one misspelt
    ],
)
def test_name_search_finds_a_misspelt_name_first(gordillos, query, wanted):
    assert patient_search(query).first() == gordillos[wanted]
    # The search page writes the same statement out (selectors._name_search_rows).
    page = patient_search_page(query, number=None, per_page=5)
    assert page[0] == gordillos[wanted]
    assert [patient.pk for patient in page] == [patient.pk for patient in patient_search(query)[:5]]


def test_a_name_typed_right_comes_before_names_one_slip_away(gordillos):
    # "bahr" is inside "gebhard", and "baum" is one letter from "bahr": both come after.
    found = list(patient_search("bahr"))
    assert found[0] == gordillos["bahr"]
    assert gordillos["gebhard"] not in found[:1]
    assert list(patient_search("gordon")) == [gordillos["gordon"]]


def test_a_misspelt_name_finds_no_one_two_slips_away(gordillos):
    assert list(patient_search("Gardlilo")) == []


def test_words_of_names_are_kept_for_the_search_by_the_database(gordillos):
    from patients.models import NameWord

    patient = gordillos["gordon"]
    patient.last_name = "Ortiz-Smythe"
    patient.save()
    assert {"ortiz", "smythe", "ana"} <= set(NameWord.objects.values_list("word", flat=True))
    assert list(patient_search("Smtyhe")) == [patient]


def test_one_edit_away_covers_the_usual_slips():
    from patients.selectors import one_edit_away

    variants = one_edit_away("bahr")
    assert {"bhar", "bah", "baahr", "bahx", "bahr"} <= variants
    assert "hbra" not in variants


def test_deleting_a_patient_forgets_the_words_only_they_bore(gordillos, manager):
    from clinic.audit import Actor
    from patients import services
    from patients.models import NameWord

    lone = PatientFactory(first_name="Zebedee", last_name="Quixwort")
    PatientFactory(first_name="Ana", last_name="Quixwort")
    services.patient_delete(patient=lone, actor=Actor(user=manager))
    words = set(NameWord.objects.values_list("word", flat=True))
    assert "zebedee" not in words
    assert {"quixwort", "ana", "gordillo"} <= words


@pytest.mark.parametrize(
    "query", ["smith", "smiht", "anna smith", "anna smiht", "sm", "sm_th", "50%", "", "07911", "nobody"]
)
@pytest.mark.parametrize("number", [None, "1", "2", "3", "4", "99", "0", "-1", "two", "1.5"])
def test_search_page_is_the_page_and_count_the_paginator_gives(query, number):
    PatientFactory.create_batch(7, first_name="Anna", last_name="Smith", phone="+447911900123")
    PatientFactory.create_batch(3, first_name="Ben", last_name="Smithson")
    expected = Paginator(patient_search(query), 4).get_page(number)
    page = patient_search_page(query, number=number, per_page=4)
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (
        expected.number,
        expected.paginator.count,
        expected.paginator.num_pages,
    )
    assert list(page) == list(expected)


@pytest.mark.parametrize("query", ["smith", "smiht", "anna smith", "smithson"])
def test_search_page_with_archived_patients_is_the_page_the_paginator_gives(query):
    from django.utils import timezone

    PatientFactory.create_batch(3, first_name="Anna", last_name="Smith")
    PatientFactory.create_batch(2, first_name="Anna", last_name="Smith", archived_at=timezone.now())
    PatientFactory(first_name="Ben", last_name="Smithson", archived_at=timezone.now())
    for include_archived in (False, True):
        expected = Paginator(patient_search(query, include_archived=include_archived), 4).get_page(None)
        page = patient_search_page(query, include_archived=include_archived, number=None, per_page=4)
        assert page.paginator.count == expected.paginator.count
        assert [(p.pk, p.is_archived) for p in page] == [(p.pk, p.is_archived) for p in expected]


def test_search_first_page_counts_in_the_same_statement(django_assert_num_queries):
    PatientFactory.create_batch(3, last_name="Smith")
    with django_assert_num_queries(2):  # the known words, then the page with its count
        page = patient_search_page("smith", number=None, per_page=25)
        assert (len(page), page.paginator.count) == (3, 3)


@pytest.mark.parametrize(("number", "statements"), [("99", 4), ("0", 3)])
def test_search_page_past_the_end_is_the_last_page(django_assert_num_queries, number, statements):
    PatientFactory.create_batch(6, last_name="Smith")
    # The known words; the page asked for (none past the end); the count; the last page.
    with django_assert_num_queries(statements):
        page = patient_search_page("smith", number=number, per_page=4)
        assert (page.number, len(page), page.paginator.count) == (2, 2, 6)


@pytest.mark.parametrize("day", [datetime.date(1985, 1, 31), datetime.date(2001, 5, 2), datetime.date(999, 12, 9)])
def test_day_month_year_shows_what_the_date_filter_shows(day):
    assert day_month_year(day) == date_filter(day, "d M Y")


def test_day_month_year_of_nothing_is_empty():
    assert day_month_year(None) == ""


def test_search_rows_are_what_the_template_loop_gave():
    """patient_search_rows writes the rows the page's template loop used to: same markup, same escaping."""
    from django.template import engines
    from django.utils import timezone

    from patients.templatetags.patients_tags import patient_search_rows

    patients = [
        PatientFactory(first_name="Chloé", last_name="Dubois", phone="+447911900123", email="chloe@example.com"),
        PatientFactory(first_name="<b>Ann</b>", last_name="O'Brien & Co", phone="", email=""),
        PatientFactory(last_name="Dubreuil", phone="+33612345678", archived_at=timezone.now()),
    ]
    loop = engines["django"].from_string(
        "{% load patients_tags %}{% for patient in page %}\n  <tr>\n"
        '    <td><a href="{{ list_url }}{{ patient.pk }}/">{{ patient.last_name }}, {{ patient.first_name }}</a>\n'
        '      {% if patient.is_archived %}<span class="badge text-bg-secondary">Archived</span>{% endif %}</td>\n'
        "    <td>{{ patient.date_of_birth|day_month_year }}</td>\n"
        "    <td>{{ patient.phone|phone }}</td>\n"
        "    <td>{{ patient.email }}</td>\n"
        "  </tr>\n  {% endfor %}"
    )
    rows = patient_search_rows(patients, "/patients/")
    assert rows == loop.render({"page": patients, "list_url": "/patients/"})
    assert "&lt;b&gt;Ann&lt;/b&gt;" in rows
    assert "O&#x27;Brien &amp; Co" in rows
    assert rows.count("Archived</span>") == 1
