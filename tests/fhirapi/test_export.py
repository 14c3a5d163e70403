"""The subject access export: a zip of the FHIR Bundle, a readable summary and the photos."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from clinic.models import AuditEntry
from tests.fhirapi.conftest import validate
from treatments.photos import photo_path

pytestmark = pytest.mark.django_db


def export(client, patient_id):
    response = client.post(reverse("fhirapi:patient_export", args=[patient_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    assert f'filename="patient-{patient_id}-record-' in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.parametrize("persona", ["doctor", "manager"])
def test_export_holds_bundle_summary_and_photos(client, record, persona, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    archive = export(client, record.patient.pk)
    names = set(archive.namelist())
    photo_name = f"photos/photo-{record.photo.pk}-before.png"
    signed = list(record.patient.consents.exclude(signature_png=None))
    signatures = {f"signatures/consent-{consent.pk}.png": consent for consent in signed}
    assert signed  # the record's consents are signed on the pad
    assert names == {"bundle.json", "summary.html", photo_name, *signatures}
    assert archive.read(photo_name) == photo_path(record.photo).read_bytes()
    for name, consent in signatures.items():
        assert archive.read(name) == bytes(consent.signature_png)

    bundle = json.loads(archive.read("bundle.json"))
    validate(bundle)
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"Patient", "Condition", "Procedure", "Observation", "Consent", "CarePlan", "Appointment"} <= kinds

    summary = archive.read("summary.html").decode()
    assert "Zoë Hart-Lewis" in summary
    assert "Times are in the clinic's time zone (Europe/London)" in summary
    # The history with its versions: the first wording stays, marked replaced.
    assert "Type 2 diabetes" in summary
    assert "Type 2 (Diabetes)" in summary
    assert "replaced" in summary
    assert "Consent to clinical photography" in summary
    assert "Changed her mind" in summary
    assert record.lot_number in summary
    assert "Mild redness next day." in summary
    assert f'src="{photo_name}"' in summary
    for name, consent in signatures.items():  # consents with their signatures and hashes
        assert f'src="{name}"' in summary
        assert consent.signature_sha256 in summary
    assert "Aftercare advice" in summary  # the email sent
    assert "Room 1" in summary  # the appointment
    # The access log, this export included.
    assert "subject access export" in summary
    assert user.get_full_name() in summary


def test_export_is_audited(client, doctor, record):
    client.force_login(doctor)
    export(client, record.patient.pk)
    entry = AuditEntry.objects.latest("id")
    assert entry.action == AuditEntry.Action.DOWNLOAD
    assert entry.object_type == "subject access export"
    assert entry.patient_id == record.patient.pk
    assert entry.user == doctor


def test_missing_photo_file_is_said_not_fatal(client, doctor, record):
    photo_path(record.photo).unlink()
    client.force_login(doctor)
    archive = export(client, record.patient.pk)
    assert not [name for name in archive.namelist() if name.startswith("photos/")]  # no photo, no crash
    assert "missing from storage" in archive.read("summary.html").decode()


def test_receptionist_cannot_export_and_get_is_refused(client, receptionist, doctor, record):
    client.force_login(receptionist)
    allowed = AuditEntry.objects.filter(outcome=AuditEntry.Outcome.ALLOWED)
    before = allowed.count()
    assert client.post(reverse("fhirapi:patient_export", args=[record.patient.pk])).status_code == 403
    assert allowed.count() == before  # the refusal is in the trail as refused, nothing as done
    client.force_login(doctor)
    assert client.get(reverse("fhirapi:patient_export", args=[record.patient.pk])).status_code == 405
    assert client.post(reverse("fhirapi:patient_export", args=[999999])).status_code == 404


def test_patient_page_offers_the_export_to_permitted_roles(client, doctor, manager, receptionist, record):
    url = reverse("patients:detail", args=[record.patient.pk])
    action = reverse("fhirapi:patient_export", args=[record.patient.pk])
    for user, shown in ((doctor, True), (manager, True), (receptionist, False)):
        client.force_login(user)
        assert (action in client.get(url).content.decode()) is shown, user
