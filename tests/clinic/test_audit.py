import datetime

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from tests.factories import HistoryItemFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _entry(user, patient, **extra):
    return AuditEntry.objects.create(user=user, patient=patient, action="view", object_type="medical history", **extra)


def test_database_refuses_to_change_an_entry(doctor):
    entry = _entry(doctor, PatientFactory())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="update")


def test_database_refuses_to_delete_an_entry(doctor):
    entry = _entry(doctor, PatientFactory())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_entries_hold_no_data_values(doctor_client):
    item = HistoryItemFactory(name="Secretallergen", details="very private")
    doctor_client.get(reverse("patients:medical_history", args=[item.patient.pk]))
    for entry in AuditEntry.objects.all():
        text = " ".join(str(value) for value in entry.__dict__.values())
        assert "Secretallergen" not in text
        assert "very private" not in text


def test_manager_filters_by_patient_user_and_date(manager_client, doctor, other_doctor):
    anna, bea = PatientFactory(), PatientFactory()
    _entry(doctor, anna)
    _entry(other_doctor, bea)
    old = _entry(doctor, bea, at=timezone.now() - datetime.timedelta(days=40))
    url = reverse("audit_list")
    assert [e.patient_id for e in manager_client.get(url, {"patient": anna.pk}).context["page"]] == [anna.pk]
    assert {e.user for e in manager_client.get(url, {"user": other_doctor.pk}).context["page"]} == {other_doctor}
    since = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    # (the manager's own sign-in is in the trail too: look at the views only)
    page = manager_client.get(url, {"date_from": since, "action": "view"}).context["page"]
    assert old not in list(page)
    assert len(page) == 2


def test_bad_audit_filter_is_a_form_error(manager_client):
    response = manager_client.get(reverse("audit_list"), {"date_from": "2026-05-10", "date_to": "2026-05-01"})
    assert response.status_code == 200
    assert "on or after the start date" in str(response.context["form"].errors)
    response = manager_client.get(reverse("audit_list"), {"patient": "abc"})
    assert response.status_code == 200
    assert "patient" in response.context["form"].errors


def test_admin_shows_audit_read_only(manager_client, doctor):
    entry = _entry(doctor, PatientFactory())
    assert manager_client.get(reverse("admin:clinic_auditentry_changelist")).status_code == 200
    response = manager_client.post(reverse("admin:clinic_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_audit_list_query_budget(manager_client, doctor, django_assert_max_num_queries):
    patient = PatientFactory()
    for _ in range(30):
        _entry(doctor, patient)
    with django_assert_max_num_queries(10):
        manager_client.get(reverse("audit_list"))


def test_manager_reads_staff_in_admin_but_creates_them_on_the_staff_pages(manager_client, manager, doctor):
    # Accounts are made on the staff pages (tests/clinic/test_staff_accounts.py); in the admin a
    # manager only reads them (the practitioner form picks its user from them).
    url = reverse("admin:auth_user_change", args=[doctor.pk])
    response = manager_client.get(url)
    assert response.status_code == 200
    assert 'name="is_superuser"' not in response.content.decode()
    assert 'name="groups"' not in response.content.decode()
    assert manager_client.get(reverse("admin:auth_user_add")).status_code == 403
