"""What the audit trail records: every page that shows clinical data or contact details (one
entry per request), searches, refused reads, sign-in events, and from which address."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse

from clinic.audit import CONTACT_DETAILS, client_address
from clinic.models import AuditEntry
from clinic.settings import env_networks
from tests.factories import PASSWORD, HistoryItemFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import ConsultationFactory

pytestmark = pytest.mark.django_db

Action, Outcome = AuditEntry.Action, AuditEntry.Outcome


def _rows(**filters):
    return list(AuditEntry.objects.filter(**filters))


# Clinical reads: edit forms, skin profile -------------------------------------------------


def test_opening_a_history_entry_to_edit_it_is_a_recorded_read(doctor_client, doctor):
    item = HistoryItemFactory(name="Secretallergen")
    url = reverse("patients:history_item_edit", args=[item.patient.pk, item.pk])
    assert doctor_client.get(url).status_code == 200
    [entry] = _rows(patient=item.patient)
    assert (entry.user, entry.action, entry.outcome) == (doctor, Action.VIEW, Outcome.ALLOWED)
    assert (entry.object_type, entry.object_id) == ("medical history entry", str(item.pk))
    assert "Secretallergen" not in " ".join(str(value) for value in entry.__dict__.values())


def test_opening_the_skin_profile_is_a_recorded_read(doctor_client, doctor):
    profile = SkinProfileFactory()
    assert doctor_client.get(reverse("patients:skin_profile_edit", args=[profile.patient.pk])).status_code == 200
    [entry] = _rows(patient=profile.patient)
    assert (entry.user, entry.action, entry.object_type, entry.object_id) == (
        doctor,
        Action.VIEW,
        "skin profile",
        str(profile.pk),
    )


def test_skin_profile_form_of_a_patient_without_one_is_still_a_recorded_read(doctor_client):
    patient = PatientFactory()
    doctor_client.get(reverse("patients:skin_profile_edit", args=[patient.pk]))
    assert [(e.action, e.object_type) for e in _rows(patient=patient)] == [(Action.VIEW, "skin profile")]


def test_opening_a_consultation_to_edit_it_is_a_recorded_read(doctor_client, doctor):
    consultation = ConsultationFactory(doctor=doctor)
    url = reverse("treatments:consultation_edit", args=[consultation.patient.pk, consultation.pk])
    assert doctor_client.get(url).status_code == 200
    [entry] = _rows(patient=consultation.patient)
    assert (entry.action, entry.object_type, entry.object_id) == (Action.VIEW, "consultation", str(consultation.pk))


# Contact details and the patient page ---------------------------------------------------


def test_receptionist_reading_the_patient_page_is_one_contact_read(receptionist_client, receptionist):
    patient = PatientFactory()
    assert receptionist_client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    [entry] = _rows(patient=patient)
    assert (entry.user, entry.action, entry.object_type, entry.object_id) == (
        receptionist,
        Action.VIEW,
        CONTACT_DETAILS,
        str(patient.pk),
    )


def test_doctor_reading_the_patient_page_is_one_entry_for_all_its_panels(doctor_client, doctor):
    patient = PatientFactory()
    HistoryItemFactory(patient=patient)
    ConsultationFactory(patient=patient, doctor=doctor)
    response = doctor_client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 200
    assert 'id="treatments-heading"' in response.content.decode()  # the treatments panel was shown...
    [entry] = _rows(patient=patient)  # ...and nothing but the view wrote the trail
    assert entry.object_type == "contact details and clinical summary"


def test_opening_and_saving_the_contact_form_are_recorded(receptionist_client, receptionist):
    patient = PatientFactory(first_name="Anna", last_name="Bell", phone="+447911123456")
    url = reverse("patients:edit", args=[patient.pk])
    receptionist_client.get(url)
    data = {
        "first_name": "Anna", "last_name": "Bell", "date_of_birth": patient.date_of_birth.isoformat(), "sex": "female",
        "phone": "07911 123457", "email": patient.email, "preferred_contact_channel": "phone",
    }  # fmt: skip
    assert receptionist_client.post(url, data).status_code == 302
    assert [(e.action, e.object_type) for e in reversed(_rows(patient=patient))] == [
        (Action.VIEW, CONTACT_DETAILS),
        (Action.UPDATE, CONTACT_DETAILS),
    ]


def test_contact_reads_do_not_stop_deleting_a_record_made_by_mistake(manager_client):
    patient = PatientFactory()
    manager_client.get(reverse("patients:detail", args=[patient.pk]))
    assert manager_client.post(reverse("patients:delete", args=[patient.pk])).status_code == 302
    assert not type(patient).objects.filter(pk=patient.pk).exists()


# Searches -------------------------------------------------------------------------------


def test_search_records_the_query_not_the_results(receptionist_client, receptionist):
    PatientFactory(first_name="Zelda", last_name="Quintero", email="zelda@example.com")
    response = receptionist_client.get(reverse("patients:list"), {"q": "quinter"})
    assert "Quintero" in response.content.decode()
    [entry] = _rows(action=Action.SEARCH)
    assert (entry.user, entry.query, entry.patient_id, entry.object_id) == (receptionist, "quinter", None, "")
    text = " ".join(str(value) for value in entry.__dict__.values())
    assert "Zelda" not in text
    assert "zelda@example.com" not in text


def test_listing_without_a_query_is_not_a_search(receptionist_client):
    receptionist_client.get(reverse("patients:list"))
    assert not _rows(action=Action.SEARCH)


# Refused reads ----------------------------------------------------------------------------


def test_refused_read_of_medical_history_is_recorded(receptionist_client, receptionist):
    patient = PatientFactory()
    response = receptionist_client.get(reverse("patients:medical_history", args=[patient.pk]))
    assert response.status_code == 403
    [entry] = _rows(patient=patient)
    assert (entry.user, entry.action, entry.outcome) == (receptionist, Action.VIEW, Outcome.REFUSED)
    assert entry.object_type == "clinical record"


def test_refused_read_of_a_consultation_is_recorded(receptionist_client):
    consultation = ConsultationFactory()
    url = reverse("treatments:consultation_detail", args=[consultation.patient.pk, consultation.pk])
    assert receptionist_client.get(url).status_code == 403
    assert [(e.outcome, e.patient_id) for e in _rows() if e.action == Action.VIEW] == [
        (Outcome.REFUSED, consultation.patient.pk)
    ]


def test_refused_history_entry_names_the_entry_asked_for(client, doctor):
    """A user whose role lets them see a patient but not record clinical data."""
    item = HistoryItemFactory()
    doctor.groups.clear()
    client.force_login(doctor)
    assert client.get(reverse("patients:history_item_edit", args=[item.patient.pk, item.pk])).status_code == 403
    [entry] = _rows(outcome=Outcome.REFUSED)
    assert entry.patient_id == item.patient.pk


def test_a_403_on_a_page_that_is_not_a_record_writes_nothing(receptionist_client):
    assert receptionist_client.get(reverse("treatments:formulary")).status_code == 403
    assert not _rows(outcome=Outcome.REFUSED)


def test_refused_rows_do_not_count_as_clinical_records(receptionist_client, manager_client):
    patient = PatientFactory()
    receptionist_client.get(reverse("patients:medical_history", args=[patient.pk]))
    assert manager_client.post(reverse("patients:delete", args=[patient.pk])).status_code == 302


# Sign-in events ---------------------------------------------------------------------------


def test_sign_in_is_recorded(client, doctor):
    response = client.post(reverse("login"), {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 302
    [entry] = _rows(action=Action.LOGIN)
    assert (entry.user, entry.username, entry.object_id, entry.ip_address) == (
        doctor,
        doctor.username,
        str(doctor.pk),
        "127.0.0.1",
    )


def test_failed_sign_in_records_the_username_never_the_password(client, doctor):
    response = client.post(reverse("login"), {"username": "dr_ada", "password": "not-my-password"})
    assert response.status_code == 200
    [entry] = _rows(action=Action.LOGIN_FAILED)
    assert (entry.user, entry.username, entry.outcome) == (None, "dr_ada", Outcome.ALLOWED)
    assert "not-my-password" not in " ".join(str(value) for value in entry.__dict__.values())
    assert "*" not in entry.username


def test_failed_sign_in_of_an_unknown_username_is_recorded(client):
    client.post(reverse("login"), {"username": "nobody-here", "password": "guess"})
    assert [entry.username for entry in _rows(action=Action.LOGIN_FAILED)] == ["nobody-here"]


def test_sign_out_is_recorded(doctor_client, doctor):
    assert doctor_client.post(reverse("logout")).status_code == 302
    [entry] = _rows(action=Action.LOGOUT)
    assert (entry.user, entry.username) == (doctor, doctor.username)


def test_lockout_is_an_action_the_trail_knows():
    assert AuditEntry.Action.LOCKOUT in AuditEntry.Action.values


# The client's address ---------------------------------------------------------------------


def _address(settings, proxies, remote, forwarded=None):
    settings.TRUSTED_PROXIES = proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    assert _address(settings, [], "203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_spoofed_forwarded_for_from_an_untrusted_client_is_ignored(settings):
    assert _address(settings, ["10.0.0.0/8"], "203.0.113.9", "10.0.0.1, 198.51.100.1") == "203.0.113.9"


def test_behind_a_trusted_proxy_the_forwarded_client_is_recorded(settings):
    assert _address(settings, ["10.0.0.5"], "10.0.0.5", "198.51.100.7") == "198.51.100.7"


def test_behind_a_trusted_proxy_the_left_part_written_by_the_client_is_ignored(settings):
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    assert _address(settings, ["10.0.0.5"], "10.0.0.5", "1.2.3.4, 198.51.100.7") == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_right_to_left(settings):
    forwarded = "1.2.3.4, 198.51.100.7, 10.1.2.3"
    assert _address(settings, ["10.0.0.0/8", "2001:db8::/32"], "10.0.0.5", forwarded) == "198.51.100.7"
    assert _address(settings, ["2001:db8::/32"], "2001:db8::1", "2001:db8::2, 2001:db8::3") == "2001:db8::1"


def test_garbage_in_forwarded_for_falls_back_to_the_proxy(settings):
    assert _address(settings, ["10.0.0.5"], "10.0.0.5", "not-an-address") == "10.0.0.5"
    assert _address(settings, ["10.0.0.5"], "10.0.0.5") == "10.0.0.5"


def test_a_page_read_through_the_proxy_records_the_client_address(settings, doctor_client):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    item = HistoryItemFactory()
    doctor_client.get(
        reverse("patients:history_item_versions", args=[item.patient.pk, item.pk]),
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.23",
    )
    [entry] = _rows(patient=item.patient)
    assert entry.ip_address == "198.51.100.23"


def test_trusted_proxies_setting_checks_each_value(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16, fd00::/8")
    assert env_networks("TRUSTED_PROXIES") == ["10.0.0.1", "192.168.0.0/16", "fd00::/8"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, proxy.local")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        env_networks("TRUSTED_PROXIES")


def test_manager_filters_the_trail_by_outcome(receptionist_client, manager, client):
    patient = PatientFactory()
    receptionist_client.get(reverse("patients:medical_history", args=[patient.pk]))
    receptionist_client.get(reverse("patients:detail", args=[patient.pk]))
    client.force_login(manager)
    response = client.get(reverse("audit_list"), {"outcome": "refused"})
    assert [(e.patient_id, e.outcome) for e in response.context["page"]] == [(patient.pk, Outcome.REFUSED)]
    assert "<strong>Refused</strong>" in response.content.decode()
