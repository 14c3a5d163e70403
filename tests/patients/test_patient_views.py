import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

VALID = {
    "first_name": "Zoë",
    "last_name": "Núñez",
    "date_of_birth": "1988-04-12",
    "sex": "female",
    "phone": "07400 100456",
    "email": "Zoe.Nunez@Example.com",
    "preferred_contact_channel": "email",
    "reminder_emails_consent": "on",
}


def test_anonymous_visitor_is_sent_to_login(anonymous_client):
    response = anonymous_client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_receptionist_registers_a_patient_with_phone_in_e164(receptionist_client, receptionist):
    response = receptionist_client.post(reverse("patients:register"), VALID)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:detail", args=[patient.pk])
    assert patient.phone == "+447400100456"
    assert patient.email == "zoe.nunez@example.com"
    assert patient.created_by == receptionist
    assert patient.reminder_emails_consent_changed_at is not None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "cannot be in the future"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "over 120 years old"),
        ({"date_of_birth": "31/31/1990"}, "date_of_birth", "Enter a valid date"),
        ({"phone": "12345"}, "phone", "valid phone number"),
        ({"phone": "call me"}, "phone", "valid phone number"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"first_name": ""}, "first_name", "required"),
        ({"last_name": "   "}, "last_name", "required"),
        ({"sex": ""}, "sex", "required"),
        ({"email": "", "preferred_contact_channel": "email"}, "email", "needed"),
        ({"phone": "", "preferred_contact_channel": "sms"}, "phone", "needed"),
        ({"emergency_contact_phone": "000"}, "emergency_contact_phone", "valid phone number"),
    ],
)
def test_bad_registration_input_is_a_form_error_naming_the_problem(receptionist_client, changes, field, message):
    response = receptionist_client.post(reverse("patients:register"), {**VALID, **changes})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not Patient.objects.exists()


def test_registration_shows_possible_duplicates_before_creating_a_second_record(receptionist_client):
    existing = PatientFactory(first_name="Zoe", last_name="Nunez", date_of_birth=datetime.date(1988, 4, 12))
    response = receptionist_client.post(reverse("patients:register"), VALID)
    assert response.status_code == 200
    assert response.context["duplicates"] == [existing]
    assert reverse("patients:detail", args=[existing.pk]) in response.content.decode()
    assert Patient.objects.count() == 1

    response = receptionist_client.post(reverse("patients:register"), {**VALID, "confirm_not_duplicate": "on"})
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_duplicate_by_email_is_shown(receptionist_client):
    PatientFactory(email="zoe.nunez@example.com")
    response = receptionist_client.post(reverse("patients:register"), VALID)
    assert len(response.context["duplicates"]) == 1


def test_edit_changes_details_and_records_consent_change_time(receptionist_client):
    patient = PatientFactory(reminder_emails_consent=True)
    before = patient.reminder_emails_consent_changed_at
    data = {**VALID, "reminder_emails_consent": ""}
    response = receptionist_client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.first_name == "Zoë"
    assert patient.reminder_emails_consent is False
    assert patient.reminder_emails_consent_changed_at > before


def test_bad_edit_changes_nothing(receptionist_client):
    patient = PatientFactory(first_name="Anna")
    response = receptionist_client.post(reverse("patients:edit", args=[patient.pk]), {**VALID, "phone": "12"})
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.first_name == "Anna"


def test_list_searches_and_paginates(receptionist_client):
    PatientFactory.create_batch(30, first_name="Anna", last_name="Smith")
    target = PatientFactory(first_name="Chloé", last_name="Dubois")
    response = receptionist_client.get(reverse("patients:list"), {"q": "chloe"})
    assert list(response.context["page"]) == [target]
    response = receptionist_client.get(reverse("patients:list"))
    assert len(response.context["page"]) == 25
    assert response.context["page"].paginator.num_pages == 2


def test_list_query_count_does_not_grow_with_patients(receptionist_client, django_assert_max_num_queries):
    PatientFactory.create_batch(25)
    # 8: one of them is the second factor's device, loaded on every request of a verified session;
    # a search reads its page and its count in one statement.
    with django_assert_max_num_queries(8):
        receptionist_client.get(reverse("patients:list"), {"q": "a"})


@pytest.mark.parametrize("params", [{"q": "smiht"}, {"q": "anna smith", "page": "2"}, {"q": "smith", "archived": "on"}])
def test_name_search_page_query_count(receptionist_client, django_assert_max_num_queries, params):
    PatientFactory.create_batch(30, first_name="Anna", last_name="Smith")
    # session, user, second-factor device, permissions; the search's audit row, the known words
    # (a misspelt word's neighbours), then the page with its count.
    with django_assert_max_num_queries(7):
        response = receptionist_client.get(reverse("patients:list"), params)
    assert len(response.context["page"]) == (5 if params.get("page") == "2" else 25)


def test_list_rows_link_to_each_patient_and_show_the_birth_date(receptionist_client):
    patient = PatientFactory(first_name="Chloé", last_name="Dubois", date_of_birth=datetime.date(1985, 1, 31))
    archived = PatientFactory(last_name="Dubreuil", archived_at=timezone.now())
    response = receptionist_client.get(reverse("patients:list"), {"q": "dub", "archived": "on"})
    html = response.content.decode()
    assert f'<a href="{reverse("patients:detail", args=[patient.pk])}">Dubois, Chloé</a>' in html
    assert f'href="{reverse("patients:detail", args=[archived.pk])}"' in html
    assert "<td>31 Jan 1985</td>" in html
    assert 'id="id_archived" checked>' in html
    assert 'value="dub"' in html


def test_list_search_box_shows_its_error(receptionist_client):
    response = receptionist_client.get(reverse("patients:list"), {"q": "x" * 101})
    html = response.content.decode()
    assert 'class="textinput form-control is-invalid" aria-invalid="true" aria-describedby="id_q_error"' in html
    assert '<div id="id_q_error" class="invalid-feedback"><p id="error_1_id_q"><strong>Ensure this value' in html


def test_detail_hides_clinical_data_from_reception(receptionist_client):
    patient = PatientFactory()
    response = receptionist_client.get(reverse("patients:detail", args=[patient.pk]))
    assert response.status_code == 200
    assert "Medical history" not in response.content.decode()
    assert "Treatment safety" not in response.content.decode()


def test_unknown_patient_is_404(receptionist_client):
    assert receptionist_client.get(reverse("patients:detail", args=[999999])).status_code == 404


def test_archive_and_restore(receptionist_client):
    patient = PatientFactory()
    assert receptionist_client.get(reverse("patients:archive", args=[patient.pk])).status_code == 405
    receptionist_client.post(reverse("patients:archive", args=[patient.pk]))
    patient.refresh_from_db()
    assert patient.is_archived
    receptionist_client.post(reverse("patients:restore", args=[patient.pk]))
    patient.refresh_from_db()
    assert not patient.is_archived


def test_doctor_cannot_archive(doctor_client):
    patient = PatientFactory()
    assert doctor_client.post(reverse("patients:archive", args=[patient.pk])).status_code == 403


def test_manager_deletes_a_record_made_by_mistake(manager_client):
    patient = PatientFactory()
    response = manager_client.post(reverse("patients:delete", args=[patient.pk]))
    assert response.status_code == 302
    assert not Patient.objects.filter(pk=patient.pk).exists()


def test_patient_with_clinical_records_cannot_be_deleted(manager_client):
    from tests.factories import HistoryItemFactory

    item = HistoryItemFactory()
    response = manager_client.post(reverse("patients:delete", args=[item.patient.pk]), follow=True)
    assert Patient.objects.filter(pk=item.patient.pk).exists()
    assert "archive the record instead" in response.content.decode()


def test_receptionist_cannot_delete(receptionist_client):
    patient = PatientFactory()
    assert receptionist_client.post(reverse("patients:delete", args=[patient.pk])).status_code == 403


def test_archived_at_is_not_settable_from_the_form(receptionist_client):
    patient = PatientFactory()
    receptionist_client.post(reverse("patients:edit", args=[patient.pk]), {**VALID, "archived_at": timezone.now()})
    patient.refresh_from_db()
    assert patient.archived_at is None
