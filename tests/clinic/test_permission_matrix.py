"""Each role against each page of the foundation: allowed (200), refused (403), or sent to
login (anonymous). The README's permission matrix says the same."""

import pytest
from django.urls import reverse

from tests.factories import ConsentRecordFactory, HistoryItemFactory

pytestmark = pytest.mark.django_db

OK, FORBIDDEN = 200, 403

# page -> expected status for (doctor, receptionist, manager)
MATRIX = {
    "patients:list": (OK, OK, OK),
    "patients:register": (OK, OK, OK),
    "patients:detail": (OK, OK, OK),
    "patients:edit": (OK, OK, OK),
    "patients:medical_history": (OK, FORBIDDEN, FORBIDDEN),
    "patients:history_item_add": (OK, FORBIDDEN, FORBIDDEN),
    "patients:history_item_edit": (OK, FORBIDDEN, FORBIDDEN),
    "patients:history_item_versions": (OK, FORBIDDEN, FORBIDDEN),
    "patients:skin_profile_edit": (OK, FORBIDDEN, FORBIDDEN),
    "patients:skin_profile_versions": (OK, FORBIDDEN, FORBIDDEN),
    "patients:consent_add": (OK, FORBIDDEN, FORBIDDEN),
    "patients:consent_detail": (OK, FORBIDDEN, FORBIDDEN),
    "patients:consent_print": (OK, FORBIDDEN, FORBIDDEN),
    "patients:consent_signature": (OK, FORBIDDEN, FORBIDDEN),
    "audit_list": (FORBIDDEN, FORBIDDEN, OK),
    "home": (OK, OK, OK),
    "password_change": (OK, OK, OK),
}


@pytest.fixture
def urls():
    consent = ConsentRecordFactory()
    patient = consent.patient
    item = HistoryItemFactory(patient=patient)
    args = {
        "patients:list": [],
        "patients:register": [],
        "audit_list": [],
        "home": [],
        "password_change": [],
        "patients:history_item_edit": [patient.pk, item.pk],
        "patients:history_item_versions": [patient.pk, item.pk],
        "patients:consent_detail": [patient.pk, consent.pk],
        "patients:consent_print": [patient.pk, consent.pk],
        "patients:consent_signature": [patient.pk, consent.pk],
    }
    return {name: reverse(name, args=args.get(name, [patient.pk])) for name in MATRIX}


@pytest.mark.parametrize("name", MATRIX)
def test_permission_matrix(client, doctor, receptionist, manager, urls, name):
    for user, expected in zip((doctor, receptionist, manager), MATRIX[name], strict=True):
        client.force_login(user)
        assert client.get(urls[name]).status_code == expected, f"{user.username} on {name}"


@pytest.mark.parametrize("name", MATRIX)
def test_anonymous_is_sent_to_login(client, urls, name):
    response = client.get(urls[name])
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "name", ["patients:archive", "patients:restore", "patients:delete", "patients:consent_withdraw"]
)
def test_state_changes_refuse_get(doctor_client, manager_client, urls, name):
    consent = ConsentRecordFactory()
    args = [consent.patient.pk, consent.pk] if name == "patients:consent_withdraw" else [consent.patient.pk]
    assert manager_client.get(reverse(name, args=args)).status_code == 405


def test_receptionist_cannot_post_clinical_data(receptionist_client, urls):
    response = receptionist_client.post(urls["patients:history_item_add"], {"category": "allergy"})
    assert response.status_code == 403


def test_menu_mirrors_the_roles(client, doctor, receptionist, manager):
    client.force_login(receptionist)
    body = client.get(reverse("home")).content.decode()
    assert "Audit trail" not in body
    assert "Patients" in body
    client.force_login(manager)
    assert "Audit trail" in client.get(reverse("home")).content.decode()
