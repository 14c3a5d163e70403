"""Consents: the current text shown in full, signed by the patient on the tablet (drawn
signature and typed name), stored with a SHA-256, printable, never changed."""

import base64
import datetime
import hashlib
import io
import re

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from clinic.models import AuditEntry
from devdata.demo.patients import drawn_signature_png
from patients import services
from patients.models import ConsentDocument, ConsentRecord
from patients.selectors import consent_record_in_force
from patients.signatures import signature_clean_png
from tests.factories import ConsentRecordFactory, PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 30, 10, 15, 30, tzinfo=datetime.UTC)


@pytest.fixture
def patient():
    return PatientFactory(first_name="Clàire", last_name="Dubois-Martin")


@pytest.fixture
def mesotherapy():
    return ConsentDocument.objects.get(procedure="mesotherapy", version=1)


def png(size=(600, 200), *, stroke=True, mode="RGBA", background=(0, 0, 0, 0), fmt="PNG") -> bytes:
    image = Image.new(mode, size, background if mode == "RGBA" else "white")
    if stroke:
        ImageDraw.Draw(image).line([(40, 150), (200, 40), (380, 160), (560, 60)], fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def data_url(payload: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(payload).decode()


def add_url(patient) -> str:
    return reverse("patients:consent_add", args=[patient.pk])


def sign_data(document, witness, **overrides):
    data = {
        "document": document.pk,
        "signature": data_url(png()),
        "signed_name": "claire dubois martin",
        "witnessed_by": witness.pk,
    }
    data.update(overrides)
    return data


# The picker and the text -------------------------------------------------------------


def test_picker_offers_only_the_current_version_of_each_procedure(doctor_client, patient, mesotherapy):
    today = timezone.localdate()
    newer = ConsentDocument.objects.create(
        procedure="mesotherapy", version=2, title="Consent to facial mesotherapy", body="Wording two",
        effective_from=today,
    )  # fmt: skip
    ConsentDocument.objects.create(
        procedure="mesotherapy", version=3, title="Consent to facial mesotherapy", body="Wording three",
        effective_from=today + datetime.timedelta(days=10),
    )  # fmt: skip
    photography = ConsentDocument.objects.get(procedure="photography", version=1)

    response = doctor_client.get(add_url(patient))

    offered = {int(value) for value in re.findall(r'<option value="(\d+)"', response.content.decode())}
    assert offered == {newer.pk, photography.pk}
    assert set(response.context["choice"].fields["document"].queryset) == {newer, photography}


def test_a_superseded_version_is_refused_when_asked_for(doctor_client, patient, mesotherapy):
    ConsentDocument.objects.create(
        procedure="mesotherapy", version=2, title="Consent to facial mesotherapy", body="Wording two",
        effective_from=timezone.localdate(),
    )  # fmt: skip
    response = doctor_client.get(add_url(patient), {"document": mesotherapy.pk})
    assert response.status_code == 400
    assert "no longer the current one" in response.content.decode()
    assert "signature-canvas" not in response.content.decode()


def test_consent_page_shows_the_full_text_and_the_signature_pad(doctor_client, doctor, patient, mesotherapy):
    response = doctor_client.get(add_url(patient), {"document": mesotherapy.pk})
    page = response.content.decode()
    assert response.status_code == 200
    for paragraph in mesotherapy.body.split("\n\n"):
        assert paragraph.replace("\n", " ")[:60] in page.replace("\n", " ")
    assert '<canvas id="signature-canvas"' in page
    assert 'aria-label="Signature pad: draw your signature here"' in page
    assert "Clear the signature" in page
    assert "is the written form of the same signature" in page
    assert '<input type="hidden" name="signature"' in page
    assert f'<input type="hidden" name="document" value="{mesotherapy.pk}"' in page
    assert response.context["form"]["witnessed_by"].value() == doctor.pk
    # A strict Content-Security-Policy: scripts come from static files only, no inline handlers.
    assert "/static/js/signature_pad.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+=", page)


# Signing --------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_patient_signs_and_the_record_keeps_signature_name_time_and_hash(
    doctor_client, doctor, other_doctor, patient, mesotherapy
):
    response = doctor_client.post(add_url(patient), sign_data(mesotherapy, other_doctor))

    consent = ConsentRecord.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:consent_detail", args=[patient.pk, consent.pk])
    assert (consent.document, consent.witnessed_by, consent.recorded_by) == (mesotherapy, other_doctor, doctor)
    assert consent.signed_name == "claire dubois martin"
    assert consent.signed_at == consent.given_at == NOW
    with Image.open(io.BytesIO(bytes(consent.signature_png))) as stored:
        assert stored.format == "PNG"
        assert stored.size == (600, 200)
    expected = _independent_hash(consent)
    assert consent.signature_sha256 == expected
    assert consent.signature_hash_matches
    assert AuditEntry.objects.filter(user=doctor, action="create", object_id=str(consent.pk)).count() == 1

    page = doctor_client.get(response["Location"]).content.decode()
    assert expected in page
    assert "Checked now: matches" in page
    assert reverse("patients:consent_signature", args=[patient.pk, consent.pk]) in page


def _independent_hash(consent) -> str:
    """The documented recipe, written out again: length-prefixed parts, SHA-256."""
    parts = [
        b"clinic-consent-v1",
        b"mesotherapy",
        str(consent.document.version).encode(),
        hashlib.sha256(consent.document.body.encode()).hexdigest().encode(),
        str(consent.patient_id).encode(),
        consent.signed_name.encode(),
        b"2026-11-30T10:15:30.000000+00:00",
        bytes(consent.signature_png),
    ]
    return hashlib.sha256(b"".join(len(part).to_bytes(8, "big") + part for part in parts)).hexdigest()


def test_the_hash_changes_with_the_signature_the_text_and_the_time(doctor, patient, mesotherapy):
    consent = ConsentRecordFactory(patient=patient, document=mesotherapy)
    original = consent.signature_sha256
    assert consent.signature_hash_matches
    consent.signature_png = png(stroke=True, size=(600, 201))
    assert consent.compute_signature_hash() != original
    consent.refresh_from_db()
    consent.signed_at += datetime.timedelta(microseconds=1)
    assert consent.compute_signature_hash() != original
    consent.refresh_from_db()
    consent.document.body += " "
    assert not consent.signature_hash_matches


BAD_SIGNATURES = [
    ("", "Draw the signature on the pad: it is required."),
    ("hello", "The signature could not be read"),
    ("data:image/png;base64,###not-base64###", "The signature could not be read"),
    (data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), "The signature could not be read"),
    (data_url(png(fmt="JPEG", mode="RGB")), "The signature could not be read"),
    (data_url(png(stroke=False)), "The pad is (almost) empty"),
    (data_url(png(stroke=False, mode="RGB")), "The pad is (almost) empty"),
    (data_url(png(size=(3000, 200))), "unexpected size"),
    ("data:image/png;base64," + "A" * 400_000, "too large"),
]


@pytest.mark.parametrize(("signature", "message"), BAD_SIGNATURES)
def test_a_missing_or_bad_signature_is_refused_with_a_clear_message(
    doctor_client, doctor, patient, mesotherapy, signature, message
):
    response = doctor_client.post(add_url(patient), sign_data(mesotherapy, doctor, signature=signature))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["signature"])
    assert message in response.content.decode()
    assert "The text you are agreeing to" in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_a_dot_is_not_a_signature():
    image = Image.new("RGBA", (600, 200))
    ImageDraw.Draw(image).ellipse([(300, 100), (303, 103)], fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    with pytest.raises(Exception, match="almost"):
        signature_clean_png(buffer.getvalue())


def test_the_stored_signature_is_re_encoded_without_metadata(doctor, patient, mesotherapy):
    image = Image.open(io.BytesIO(png()))
    info = __import__("PIL.PngImagePlugin", fromlist=["PngInfo"]).PngInfo()
    info.add_text("Comment", "tracking-data")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    assert b"tracking-data" in buffer.getvalue()
    assert b"tracking-data" not in signature_clean_png(buffer.getvalue())


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [
        ("Claire Dubois-Martin", True),
        ("  DUBOIS MARTIN   claire ", True),
        ("Claire Anne Dubois-Martin", True),
        ("Claire", False),
        ("Someone Else", False),
    ],
)
def test_the_typed_name_must_be_the_patients(doctor_client, doctor, patient, mesotherapy, typed, accepted):
    response = doctor_client.post(add_url(patient), sign_data(mesotherapy, doctor, signed_name=typed))
    if accepted:
        assert response.status_code == 302
        assert ConsentRecord.objects.get().signed_name == " ".join(typed.split())
    else:
        assert response.status_code == 400
        assert "full name as on the record (Clàire Dubois-Martin)" in response.content.decode()
        assert not ConsentRecord.objects.exists()


def test_signing_a_text_superseded_meanwhile_is_refused(doctor_client, doctor, patient, mesotherapy):
    ConsentDocument.objects.create(
        procedure="mesotherapy", version=2, title="Consent to facial mesotherapy", body="Wording two",
        effective_from=timezone.localdate(),
    )  # fmt: skip
    response = doctor_client.post(add_url(patient), sign_data(mesotherapy, doctor))
    assert response.status_code == 400
    assert "no longer the current one" in response.content.decode()
    assert "Wording two" not in response.content.decode()  # back to the choice, nothing to sign blindly
    assert not ConsentRecord.objects.exists()


def test_the_service_refuses_a_superseded_text_too(doctor, patient, mesotherapy):
    from django.core.exceptions import ValidationError

    from clinic.audit import Actor

    ConsentDocument.objects.create(
        procedure="mesotherapy", version=2, title="t", body="b", effective_from=timezone.localdate()
    )
    with pytest.raises(ValidationError, match="no longer the current one"):
        services.consent_give(
            patient=patient, document=mesotherapy, signed_name="Claire Dubois-Martin", signature_png=png(),
            witnessed_by=doctor, actor=Actor(user=doctor),
        )  # fmt: skip


def test_an_inactive_witness_is_refused(doctor_client, doctor, other_doctor, patient, mesotherapy):
    other_doctor.is_active = False
    other_doctor.save()
    response = doctor_client.post(add_url(patient), sign_data(mesotherapy, other_doctor))
    assert response.status_code == 400
    assert response.context["form"].errors["witnessed_by"]
    assert not ConsentRecord.objects.exists()


def test_receptionist_cannot_open_or_sign_a_consent(receptionist_client, receptionist, patient, mesotherapy):
    assert receptionist_client.get(add_url(patient)).status_code == 403
    assert receptionist_client.post(add_url(patient), sign_data(mesotherapy, receptionist)).status_code == 403
    assert not ConsentRecord.objects.exists()


def test_anonymous_is_sent_to_log_in(anonymous_client, patient):
    response = anonymous_client.get(add_url(patient))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_consent_page_answers_405_to_other_methods(doctor_client, patient):
    assert doctor_client.put(add_url(patient)).status_code == 405
    consent = ConsentRecordFactory(patient=patient)
    for name in ("consent_print", "consent_signature"):
        assert doctor_client.post(reverse(f"patients:{name}", args=[patient.pk, consent.pk])).status_code == 405


# The record: unchangeable, printable, its signature private --------------------------------


def test_the_database_refuses_to_change_a_signed_consent(doctor, patient):
    consent = ConsentRecordFactory(patient=patient)
    for change in ({"signed_name": "Someone Else"}, {"signature_png": png()}, {"given_at": timezone.now()}):
        with pytest.raises(DatabaseError, match="cannot be changed, only withdrawn"), transaction.atomic():
            ConsentRecord.objects.filter(pk=consent.pk).update(**change)
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic():
        ConsentRecord.objects.filter(pk=consent.pk).delete()
    consent.refresh_from_db()
    assert consent.signature_hash_matches


def test_withdrawal_is_added_once_and_then_fixed(doctor_client, doctor, patient):
    consent = ConsentRecordFactory(patient=patient)
    url = reverse("patients:consent_withdraw", args=[patient.pk, consent.pk])
    assert doctor_client.post(url, {"reason": "  "}).status_code == 400
    assert doctor_client.post(url, {"reason": "Changed her mind"}).status_code == 302
    consent.refresh_from_db()
    assert (consent.is_withdrawn, consent.withdrawal_reason) == (True, "Changed her mind")
    assert consent.signature_hash_matches
    assert "already withdrawn" in doctor_client.post(url, {"reason": "again"}, follow=True).content.decode()
    with pytest.raises(DatabaseError, match="withdrawn consent cannot be changed"), transaction.atomic():
        ConsentRecord.objects.filter(pk=consent.pk).update(withdrawal_reason="rewritten")
    assert AuditEntry.objects.filter(action="withdraw", object_id=str(consent.pk)).count() == 1


def test_printable_record_shows_text_signature_name_time_witness_and_hash(doctor_client, doctor, other_doctor):
    consent = ConsentRecordFactory(witnessed_by=other_doctor, recorded_by=doctor)
    patient = consent.patient
    response = doctor_client.get(reverse("patients:consent_print", args=[patient.pk, consent.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert consent.document.body.split("\n")[0] in page
    assert reverse("patients:consent_signature", args=[patient.pk, consent.pk]) in page
    assert consent.signed_name in page
    assert timezone.localtime(consent.signed_at).strftime("%d %b %Y %H:%M:%S") in page
    assert other_doctor.get_full_name() in page
    assert consent.signature_sha256 in page
    assert "data-print" in page
    assert "/static/js/consent_print.js" in page
    assert not re.search(r"\son[a-z]+=", page)
    assert AuditEntry.objects.filter(user=doctor, action="view", object_id=str(consent.pk)).exists()


def test_signature_image_is_served_only_to_clinical_staff(doctor_client, doctor, client, receptionist):
    consent = ConsentRecordFactory()
    url = reverse("patients:consent_signature", args=[consent.patient.pk, consent.pk])
    response = doctor_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"]
    assert response.content == bytes(consent.signature_png)
    assert AuditEntry.objects.filter(user=doctor, object_type="consent signature", object_id=str(consent.pk)).exists()

    other_patient = PatientFactory()
    assert (
        doctor_client.get(reverse("patients:consent_signature", args=[other_patient.pk, consent.pk])).status_code == 404
    )
    client.force_login(receptionist)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


def test_a_consent_recorded_before_signatures_says_so(doctor_client, patient):
    legacy = ConsentRecordFactory(
        patient=patient, signature_png=b"", signed_name="", signed_at=None, signature_sha256=""
    )
    page = doctor_client.get(reverse("patients:consent_detail", args=[patient.pk, legacy.pk])).content.decode()
    assert "no signature on file" in page
    assert doctor_client.get(reverse("patients:consent_signature", args=[patient.pk, legacy.pk])).status_code == 404


def test_a_half_signed_record_is_refused_by_the_database(doctor, patient, mesotherapy):
    with pytest.raises(DatabaseError), transaction.atomic():
        ConsentRecord.objects.create(
            patient=patient, document=mesotherapy, given_at=timezone.now(), witnessed_by=doctor, recorded_by=doctor,
            signed_name="Claire Dubois-Martin",
        )  # fmt: skip


# consent_in_force -------------------------------------------------------------------------


def test_consent_in_force_is_the_signed_not_withdrawn_consent_to_the_current_text(doctor, patient, mesotherapy):
    assert consent_record_in_force(patient, "mesotherapy") is None
    older = ConsentRecordFactory(patient=patient, given_at=timezone.now() - datetime.timedelta(days=3))
    newer = ConsentRecordFactory(patient=patient)
    assert consent_record_in_force(patient, "mesotherapy") == newer
    assert consent_record_in_force(patient, "photography") is None
    services.consent_withdraw(consent=newer, reason="Changed her mind", actor=_actor(doctor))
    assert consent_record_in_force(patient, "mesotherapy") == older
    # A future version does not supersede yet; once in effect, the consent to version 1 stops counting.
    ConsentDocument.objects.create(
        procedure="mesotherapy", version=2, title="t", body="b",
        effective_from=timezone.localdate() + datetime.timedelta(days=1),
    )  # fmt: skip
    assert consent_record_in_force(patient, "mesotherapy") == older
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        assert consent_record_in_force(patient, "mesotherapy") is None


def _actor(user):
    from clinic.audit import Actor

    return Actor(user=user)


def test_demo_signature_is_a_valid_signature():
    assert signature_clean_png(drawn_signature_png(7))
    assert drawn_signature_png(1) != drawn_signature_png(2)


def test_demo_patients_have_signed_consents_with_matching_hashes():
    from devdata.demo.patients import seed_patients, seed_staff

    staff = seed_staff()
    seed_patients(doctor=staff["doctor"])
    consents = list(ConsentRecord.objects.select_related("document"))
    assert {consent.document.procedure for consent in consents} == {"mesotherapy", "photography"}
    assert all(consent.is_signed and consent.signature_hash_matches for consent in consents)
    assert all(consent.signed_name == consent.patient.full_name for consent in consents[:5])
