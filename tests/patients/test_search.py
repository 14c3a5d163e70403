import datetime

import pytest

from patients.selectors import patient_search, possible_duplicates
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


def test_name_search_uses_the_trigram_index(helene, django_db_blocker):
    from django.db import connection

    PatientFactory.create_batch(30)
    sql, params = patient_search("lefevre").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "patient_search_key_trgm" in plan


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
