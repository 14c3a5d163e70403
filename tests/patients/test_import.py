"""Importing patients from a CSV file: upload, column mapping, dry run, all-or-nothing import."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patients.models import Patient, PatientImport
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2030, 1, 7, 8, 0, tzinfo=datetime.UTC)

GOOD = (
    "Surname;Forename;DOB;Gender;Mobile;E-mail;Town;Marketing consent\n"
    "Núñez;Zoë;12/04/1988;F;07400 100456;Zoe.Nunez@Example.com;Leeds;yes\n"
    "Smith;John;1975-11-02;m;;john@example.com;York;no\n"
)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def upload(client, text: str | bytes, name: str = "patients.csv"):
    content = text.encode() if isinstance(text, str) else text
    return client.post(reverse("patients:import_upload"), {"file": SimpleUploadedFile(name, content, "text/csv")})


def uploaded(client, text: str) -> PatientImport:
    response = upload(client, text)
    assert response.status_code == 302, response.content.decode()
    assert "/columns/" in response.url
    return PatientImport.objects.latest("pk")


def map_columns(client, patient_import: PatientImport, **overrides):
    data = {name: str(index) for name, index in patient_import.mapping.items()}
    data.update(overrides)
    return client.post(reverse("patients:import_mapping", args=[patient_import.pk]), data)


def test_receptionist_imports_a_file_through_mapping_and_preview(receptionist_client, receptionist):
    patient_import = uploaded(receptionist_client, GOOD)
    # Columns are guessed from their names.
    assert patient_import.mapping == {
        "last_name": 0, "first_name": 1, "date_of_birth": 2, "sex": 3, "phone": 4, "email": 5, "city": 6,
        "reminder_emails_consent": 7,
    }  # fmt: skip
    assert patient_import.delimiter == ";"
    assert map_columns(receptionist_client, patient_import).status_code == 302

    preview = receptionist_client.get(reverse("patients:import_preview", args=[patient_import.pk]))
    body = preview.content.decode()
    assert "All 2 rows are valid" in body
    assert "Zoë Núñez" in body
    assert not Patient.objects.exists()  # the dry run saves nothing

    response = receptionist_client.post(reverse("patients:import_run", args=[patient_import.pk]))
    assert response.status_code == 302
    zoe = Patient.objects.get(last_name="Núñez")
    assert (zoe.phone, zoe.email, zoe.sex, zoe.city) == ("+447400100456", "zoe.nunez@example.com", "female", "Leeds")
    assert zoe.date_of_birth == datetime.date(1988, 4, 12)
    assert zoe.reminder_emails_consent
    assert zoe.reminder_emails_consent_changed_at == NOW
    assert zoe.created_by == receptionist
    assert zoe.search_key == "zoe nunez"
    patient_import.refresh_from_db()
    assert patient_import.status == PatientImport.Status.IMPORTED
    assert patient_import.imported_count == 2
    assert patient_import.content == ""
    # A second click does not import twice.
    receptionist_client.post(reverse("patients:import_run", args=[patient_import.pk]))
    assert Patient.objects.count() == 2


def test_preview_lists_each_bad_row_and_nothing_can_be_imported(manager_client):
    PatientFactory(first_name="Ana", last_name="Lopez", date_of_birth=datetime.date(1990, 1, 1))
    PatientFactory(phone="+447400100999", email="taken@example.com")
    text = (
        "first name,last name,date of birth,phone,email\n"
        "Ana,López,01/01/1990,,\n"  # line 2: same name (accents ignored) and birth date as a patient
        "Bob,Bad,31/02/1980,,\n"  # line 3: not a date
        ",NoFirst,1980-01-01,,\n"  # line 4: missing first name
        "Carl,Phone,1980-01-01,12345,\n"  # line 5: bad phone
        "Dan,Mail,1980-01-01,,not-an-email\n"  # line 6: bad email
        "Eve,Twin,1981-01-01,07400 100123,\n"  # line 7: fine
        "Eva,Twin,1982-01-01,+44 7400 100123,\n"  # line 8: same phone as line 7
        "Fay,Taken,1983-01-01,,TAKEN@example.com\n"  # line 9: same email as a registered patient
        "Gus,Future,2031-01-01,,\n"  # line 10: born in the future
    )
    patient_import = uploaded(manager_client, text)
    map_columns(manager_client, patient_import)

    body = manager_client.get(reverse("patients:import_preview", args=[patient_import.pk])).content.decode()

    assert "8 of 9 rows have errors" in body
    for expected in (
        "Same name and date of birth as patient #",
        "Date of birth &#x27;31/02/1980&#x27; is not a date",
        "First name is missing.",
        "Phone &#x27;12345&#x27;",
        "Email &#x27;not-an-email&#x27; is not an email address.",
        "Same phone as line 7 of the file.",
        "Same email as patient #",
        "is in the future",
    ):
        assert expected in body, expected
    response = manager_client.post(reverse("patients:import_run", args=[patient_import.pk]), follow=True)
    assert "nothing was imported" in response.content.decode()
    assert Patient.objects.count() == 2


def test_import_is_refused_when_a_duplicate_was_registered_after_the_preview(manager_client):
    patient_import = uploaded(manager_client, GOOD)
    map_columns(manager_client, patient_import)
    PatientFactory(email="john@example.com")
    manager_client.post(reverse("patients:import_run", args=[patient_import.pk]))
    assert not Patient.objects.filter(last_name="Núñez").exists()  # all or nothing


def test_mapping_needs_the_required_columns_and_one_field_per_column(manager_client):
    patient_import = uploaded(manager_client, GOOD)
    response = map_columns(manager_client, patient_import, date_of_birth="")
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    response = map_columns(manager_client, patient_import, city="1")
    assert response.status_code == 400
    assert "is chosen for both First name and Town or city" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        ("nom,prénom\nDupont,Zoé\n".encode("latin-1"), "not UTF-8 text"),
        (b"just one line of prose without columns\nand another\n", "does not look like a CSV file"),
        (b"first name,last name,date of birth\n", "no patients"),
        (b'first name,last name\n"unterminated,quote\n', "not a readable CSV file"),
    ],
    ids=["empty", "blank", "binary", "latin1", "not-csv", "header-only", "broken-quote"],
)
def test_bad_files_get_a_clear_message(manager_client, content, message):
    response = upload(manager_client, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PatientImport.objects.exists()


def test_a_huge_file_is_refused_before_it_is_read(manager_client, settings):
    settings.PATIENT_IMPORT_MAX_BYTES = 100
    response = upload(manager_client, GOOD * 5)
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()


def test_too_many_rows_are_refused(manager_client, settings):
    settings.PATIENT_IMPORT_MAX_ROWS = 1
    response = upload(manager_client, GOOD)
    assert response.status_code == 400
    assert "the limit is 1" in response.content.decode()


def test_doctors_cannot_import(doctor_client):
    assert doctor_client.get(reverse("patients:import_upload")).status_code == 403
    assert upload(doctor_client, GOOD).status_code == 403
    assert not PatientImport.objects.exists()


def test_old_unfinished_uploads_are_deleted_on_the_next_upload(manager_client, manager):
    old = uploaded(manager_client, GOOD)
    with time_machine.travel(NOW + datetime.timedelta(days=2), tick=False):
        manager_client.force_login(manager)  # the first session has expired
        uploaded(manager_client, GOOD)
    assert not PatientImport.objects.filter(pk=old.pk).exists()


def test_cells_follow_the_text_rules_of_the_registration_form(manager_client):
    text = (
        "first name,last name,date of birth,notes\n"
        "\u200b,Blank,1980-01-01,\n"  # line 2: an invisible first name is missing
        "Esc\x1b,Ape,1980-01-01,\n"  # line 3: a control character
        "Rep\ufffd,Lace,1980-01-01,\n"  # line 4: a character that could not be read
        'Ann,Notes,1980-01-01,"two\nlines"\n'  # line 5: fine, notes may have lines
    )
    patient_import = uploaded(manager_client, text)
    map_columns(manager_client, patient_import)
    body = manager_client.get(reverse("patients:import_preview", args=[patient_import.pk])).content.decode()
    assert "3 of 4 rows have errors" in body
    for expected in ("First name is missing.", "U+001B", "U+FFFD"):
        assert expected in body, expected
