"""The audit trail is tamper-evident (a hash chain the database writes) and cannot be emptied
or disarmed by the role the application runs as."""

import threading

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from clinic.audit import Actor, audit_chain_check, audit_record
from clinic.dbroles import app_role_exists, grant_app_role
from clinic.models import AuditEntry
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _write(user, patient, count):
    actor = Actor(user=user, ip_address="192.0.2.7")
    return [
        audit_record(actor=actor, action=AuditEntry.Action.VIEW, patient=patient, object_type="medical history")
        for _ in range(count)
    ]


def _tamper(sql, params):
    """What someone holding the tables' owner (or a superuser) could do behind the app's back."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred check
        cursor.execute("ALTER TABLE clinic_auditentry DISABLE TRIGGER clinic_auditentry_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE clinic_auditentry ENABLE TRIGGER clinic_auditentry_append_only")


def test_each_entry_is_chained_to_the_one_before(doctor):
    _write(doctor, PatientFactory(), 3)
    entries = list(AuditEntry.objects.order_by("chain_seq"))
    assert [entry.chain_seq for entry in entries] == [1, 2, 3]
    assert entries[0].prev_hash == "0" * 64
    assert entries[1].prev_hash == entries[0].row_hash
    assert entries[2].prev_hash == entries[1].row_hash
    assert len({entry.row_hash for entry in entries}) == 3


def test_the_application_cannot_choose_the_hash(doctor):
    entry = AuditEntry.objects.create(
        user=doctor, action="view", object_type="x", chain_seq=99, prev_hash="f" * 64, row_hash="e" * 64
    )
    entry.refresh_from_db()
    assert (entry.chain_seq, entry.prev_hash) == (1, "0" * 64)
    assert entry.row_hash != "e" * 64


def test_verify_audit_says_an_intact_trail_is_intact(doctor, capsys):
    _write(doctor, PatientFactory(), 3)
    call_command("verify_audit")
    assert "intact: 3 entries" in capsys.readouterr().out


def test_verify_audit_names_the_entry_changed_behind_the_apps_back(doctor):
    entries = _write(doctor, PatientFactory(), 4)
    _tamper("UPDATE clinic_auditentry SET object_id = '666' WHERE id = %s", [entries[1].pk])
    with pytest.raises(CommandError, match=r"entry #2 .* changed"):
        call_command("verify_audit")


def test_verify_audit_names_a_removed_entry(doctor):
    entries = _write(doctor, PatientFactory(), 4)
    _tamper("DELETE FROM clinic_auditentry WHERE id = %s", [entries[2].pk])
    check = audit_chain_check()
    assert (check.broken_at, check.problem) == (4, "entry #3 is missing before entry #4")


def test_verify_audit_notices_a_rewritten_link(doctor):
    entries = _write(doctor, PatientFactory(), 3)
    _tamper("UPDATE clinic_auditentry SET prev_hash = %s WHERE id = %s", ["a" * 64, entries[2].pk])
    assert audit_chain_check().broken_at == 3


@pytest.fixture
def as_app_role(db):
    """Run the rest of the test as the application's database role (rolled back with the test)."""
    role = settings.DATABASE_APP_ROLE
    with connection.cursor() as cursor:
        if not app_role_exists(connection, role):
            cursor.execute(f"CREATE ROLE {connection.ops.quote_name(role)} NOLOGIN")
        grant_app_role(connection, role)
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(role)}")
    return role


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("TRUNCATE clinic_auditentry", "permission denied"),
        ("UPDATE clinic_auditentry SET object_id = 'x'", "permission denied"),
        ("DELETE FROM clinic_auditentry", "permission denied"),
        ("ALTER TABLE clinic_auditentry DISABLE TRIGGER ALL", "must be owner"),
        ("DROP TRIGGER clinic_auditentry_append_only ON clinic_auditentry", "must be owner"),
        ("DROP TRIGGER clinic_auditentry_chain ON clinic_auditentry", "must be owner"),
    ],
)
def test_the_app_role_cannot_erase_or_disarm_the_trail(doctor, as_app_role, statement, refusal):
    _write(doctor, PatientFactory(), 2)  # the app role may append ...
    assert AuditEntry.objects.count() == 2  # ... and read
    with pytest.raises(DatabaseError, match=refusal), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEntry.objects.count() == 2
    assert audit_chain_check().intact


def test_app_role_still_writes_the_rest_of_the_clinic(as_app_role):
    patient = PatientFactory()
    patient.first_name = "Changed"
    patient.save()
    assert patient.pk is not None


def test_even_the_tables_owner_cannot_truncate_the_trail(doctor):
    _write(doctor, PatientFactory(), 1)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("CREATE ROLE clinic_audit_owner_probe NOLOGIN")
        cursor.execute("ALTER TABLE clinic_auditentry OWNER TO clinic_audit_owner_probe")
        cursor.execute("SET LOCAL ROLE clinic_audit_owner_probe")
        with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic():
            cursor.execute("TRUNCATE clinic_auditentry")
    assert AuditEntry.objects.count() == 1


def test_grant_app_role_says_when_the_role_is_missing(settings):
    settings.DATABASE_APP_ROLE = "clinic_no_such_role"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grant_app_role")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(doctor):
    patient = PatientFactory()
    errors = []

    def writer():
        try:
            for _ in range(10):
                with transaction.atomic():
                    _write(doctor, patient, 2)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check = audit_chain_check()
    assert check.intact, check.problem
    assert check.entries == 120


def test_an_entry_comes_back_as_the_database_wrote_it(doctor, django_assert_num_queries):
    patient = PatientFactory()
    actor = Actor(user=doctor, ip_address="2001:db8::7")
    with django_assert_num_queries(1):
        entry = audit_record(
            actor=actor, action=AuditEntry.Action.SEARCH, object_type="patient search", query="q" * 500
        )
    stored = AuditEntry.objects.get(pk=entry.pk)
    for field in AuditEntry._meta.concrete_fields:
        assert getattr(entry, field.attname) == getattr(stored, field.attname), field.name
    assert stored.chain_seq is not None
    assert len(stored.row_hash) == 64
    assert len(stored.query) == 200
    assert not entry._state.adding
    later = audit_record(actor=actor, action=AuditEntry.Action.VIEW, patient=patient, obj=patient)
    assert later.prev_hash == entry.row_hash
    assert later.chain_seq == entry.chain_seq + 1
    assert later.object_type == "patient"
    assert audit_chain_check().intact
