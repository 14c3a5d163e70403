"""A patient with something of every kind the API serves, and helpers to call and validate it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from fhir.resources.R4B import get_fhir_model_class
from PIL import Image

from clinic.audit import Actor
from fhirapi.models import ApiToken
from fhirapi.services import api_token_create
from messaging.models import ScheduledMessage
from patients.models import ConsentDocument, HistoryItem, Patient
from patients.services import consent_withdraw, history_item_revise
from scheduling.models import Appointment
from tests.factories import ConsentRecordFactory, HistoryItemFactory, PatientFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.conftest import NOW
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory, RoomFactory
from tests.treatments.factories import ActivePlanFactory, BatchFactory, SignedSessionFactory, TreatmentSessionFactory
from treatments.models import BatchUsage, OutcomeRating, Photo, SessionAddendum, TreatmentSession
from treatments.photos import photo_upload


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.SITE_URL = "https://clinic.example"


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def validate(resource: dict):
    """The resource parsed by the fhir.resources R4B model of its type (a pydantic
    ValidationError if it does not fit); a Bundle's entries are each validated too."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        validate(entry["resource"])
    return model


def fhir_get(client, path: str, data: dict | None = None, *, token: str | None = None, status: int = 200) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, data or {}, headers=headers)
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    validate(body)
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome"
    return body


@dataclass
class Record:
    patient: Patient
    allergy: HistoryItem
    condition: HistoryItem  # version 2; version 1 is superseded
    condition_v1: HistoryItem
    error_condition: HistoryItem
    medication: HistoryItem
    previous_treatment: HistoryItem
    plan: object
    session: TreatmentSession
    draft_session: TreatmentSession
    doctor_rating: OutcomeRating
    patient_rating: OutcomeRating
    consent: object
    withdrawn_consent: object
    appointment: Appointment
    photo: Photo
    message: ScheduledMessage
    lot_number: str


def png() -> SimpleUploadedFile:
    image = BytesIO()
    Image.new("RGB", (12, 8), "white").save(image, format="PNG")
    return SimpleUploadedFile("face.png", image.getvalue(), "image/png")


@pytest.fixture
def record(frozen_now, doctor) -> Record:
    actor = Actor(user=doctor)
    patient = PatientFactory(
        first_name="Zoë",
        last_name="Hart-Lewis",
        date_of_birth=datetime.date(1985, 4, 2),
        address_line1="1 High Street",
        city="Bath",
        postcode="BA1 1AA",
        emergency_contact_name="Sam Hart",
        emergency_contact_relationship="Partner",
        emergency_contact_phone="+447700900111",
    )
    allergy = HistoryItemFactory(
        patient=patient, recorded_by=doctor, details="Rash", started_on=datetime.date(2020, 1, 1)
    )
    condition_v1 = HistoryItemFactory(
        patient=patient, recorded_by=doctor, category=HistoryItem.Category.CONDITION, code="diabetes", name="Type 2"
    )
    condition = history_item_revise(
        item=condition_v1, fields={"status": HistoryItem.Status.PAST, "name": "Type 2 diabetes"}, actor=actor
    )
    condition_v1.refresh_from_db()
    error_condition = HistoryItemFactory(
        patient=patient,
        recorded_by=doctor,
        category=HistoryItem.Category.CONDITION,
        code="epilepsy",
        name="Typed by mistake",
        status=HistoryItem.Status.ENTERED_IN_ERROR,
    )
    medication = HistoryItemFactory(
        patient=patient,
        recorded_by=doctor,
        category=HistoryItem.Category.MEDICATION,
        code="anticoagulant",
        name="Warfarin",
        started_on=datetime.date(2029, 6, 1),
    )
    previous_treatment = HistoryItemFactory(
        patient=patient,
        recorded_by=doctor,
        category=HistoryItem.Category.PREVIOUS_TREATMENT,
        code="botulinum_toxin",
        name="Forehead toxin",
        status=HistoryItem.Status.PAST,
        started_on=datetime.date(2028, 3, 1),
    )
    practitioner = PractitionerFactory(user=doctor, default_room=RoomFactory(name="Room 1"))
    plan = ActivePlanFactory(
        consultation__patient=patient, consultation__doctor=doctor, starts_on=datetime.date(2030, 1, 1)
    )
    session = SignedSessionFactory(
        plan=plan, number=1, doctor=doctor, performed_at=NOW - datetime.timedelta(days=6), notes="Well tolerated"
    )
    batch = BatchFactory(lot_number="LOT-A17", expiry_date=datetime.date(2031, 5, 31))
    BatchUsage.objects.create(session=session, batch=batch, amount=Decimal("2.50"))
    SessionAddendum.objects.create(session=session, author=doctor, text="Mild redness next day.")
    draft_session = TreatmentSessionFactory(plan=plan, number=2, doctor=doctor)
    scores = {"hydration": 3, "radiance": 4, "fine_lines": 2, "satisfaction": 5}
    doctor_rating = OutcomeRating.objects.create(session=session, rater="doctor", recorded_by=doctor, **scores)
    patient_rating = OutcomeRating.objects.create(session=session, rater="patient", recorded_by=doctor, **scores)
    # A rating of an unsigned session is not served.
    OutcomeRating.objects.create(session=draft_session, rater="doctor", recorded_by=doctor, **scores)
    consent = ConsentRecordFactory(patient=patient, witnessed_by=doctor)
    withdrawn_consent = ConsentRecordFactory(
        patient=patient,
        witnessed_by=doctor,
        document=ConsentDocument.objects.get(procedure="photography", version=1),
    )
    withdrawn_consent = consent_withdraw(consent=withdrawn_consent, reason="Changed her mind", actor=actor)
    appointment = AppointmentFactory(
        practitioner=practitioner,
        patient=patient,
        room=practitioner.default_room,
        starts_at=NOW.replace(hour=12, minute=30),
        plan=plan,
        plan_session_number=2,
    )
    ConsentRecordFactory(patient=patient, procedure="photography")
    photo = photo_upload(session=session, upload=png(), kind=Photo.Kind.BEFORE, view="front", actor=actor)
    message = ScheduledMessageFactory(
        patient=patient, status=ScheduledMessage.Status.SENT, sent_at=NOW, recipient=patient.email
    )
    return Record(
        patient=patient,
        allergy=allergy,
        condition=condition,
        condition_v1=condition_v1,
        error_condition=error_condition,
        medication=medication,
        previous_treatment=previous_treatment,
        plan=plan,
        session=session,
        draft_session=draft_session,
        doctor_rating=doctor_rating,
        patient_rating=patient_rating,
        consent=consent,
        withdrawn_consent=withdrawn_consent,
        appointment=appointment,
        photo=photo,
        message=message,
        lot_number=batch.lot_number,
    )


@dataclass
class IssuedToken:
    token: ApiToken
    secret: str


@pytest.fixture
def issue_token(manager):
    def issue(scopes: list[str], name: str = "Lab results system") -> IssuedToken:
        token, secret = api_token_create(name=name, scopes=scopes, created_by=manager)
        return IssuedToken(token, secret)

    return issue
