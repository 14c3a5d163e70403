"""The subject access export: everything the clinic holds about one patient, in one zip.

- ``bundle.json``: the FHIR Bundle of Patient/<id>/$everything (every resource type);
- ``summary.html``: a readable summary (demographics, medical history with every version,
  skin profiles, consents, consultations, plans, sessions, photos, emails, appointments with
  their history, and the access log: who looked at or changed the record, when);
- ``photos/``: the clinical photo files, as stored.
- ``signatures/``: the patient's drawn signature of each signed consent.

Producing it is audited (one entry, written first, so the access log in the zip shows it).
The zip is written to a temporary file, not memory: photos can add up.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry
from fhirapi.api import everything_bundle
from fhirapi.models import RESOURCE_TYPES
from messaging.models import ScheduledMessage
from patients.models import Patient
from scheduling.models import Appointment
from treatments.models import Consultation, Photo, TreatmentPlan, TreatmentSession
from treatments.photos import photo_path


@dataclass(frozen=True)
class ExportedPhoto:
    photo: Photo
    name: str  # path inside the zip, "" when the file is missing from storage
    source: Path | None


def _photos(patient: Patient) -> list[ExportedPhoto]:
    exported = []
    for photo in Photo.objects.filter(patient=patient).select_related("session", "uploaded_by").order_by("uploaded_at"):
        source = photo_path(photo)
        extension = "png" if photo.content_type == "image/png" else "jpg"
        if source.is_file():
            exported.append(ExportedPhoto(photo, f"photos/photo-{photo.pk}-{photo.kind}.{extension}", source))
        else:
            exported.append(ExportedPhoto(photo, "", None))
    return exported


def summary_context(patient: Patient, photos: list[ExportedPhoto]) -> dict:
    sessions = TreatmentSession.objects.select_related("doctor").prefetch_related(
        "batch_usages__batch__product", "ratings", "addenda__author"
    )
    return {
        "clinic_name": settings.CLINIC_NAME,
        "time_zone": settings.TIME_ZONE,
        "patient": patient,
        "produced_at": timezone.now(),
        "history_items": patient.history_items.select_related("recorded_by").order_by("category", "lineage", "version"),
        "skin_profiles": patient.skin_profiles.select_related("recorded_by").order_by("version"),
        "consents": patient.consents.select_related("document", "witnessed_by", "recorded_by", "withdrawn_by"),
        "consultations": Consultation.objects.filter(patient=patient)
        .select_related("doctor")
        .prefetch_related("addenda__author")
        .order_by("consulted_on", "id"),
        "plans": TreatmentPlan.objects.filter(patient=patient)
        .select_related("doctor")
        .prefetch_related("plan_products__product", Prefetch("sessions", queryset=sessions.order_by("number")))
        .order_by("created_at", "id"),
        "photos": photos,
        "messages": ScheduledMessage.objects.filter(patient=patient).order_by("due_at", "id"),
        "appointments": Appointment.objects.filter(patient=patient)
        .select_related("practitioner__user", "room", "appointment_type")
        .prefetch_related("changes__changed_by")
        .order_by("starts_at", "id"),
        "access_log": AuditEntry.objects.filter(patient=patient).select_related("user").order_by("at", "id"),
    }


def signature_name(consent) -> str:
    """Where a consent's drawn signature is in the zip (the summary shows it from there)."""
    return f"signatures/consent-{consent.pk}.png"


def patient_export(*, patient: Patient, actor: Actor):
    """A zip (an open temporary file, at its start) of everything held about ``patient``."""
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DOWNLOAD,
        patient=patient,
        obj=patient,
        object_type="subject access export",
    )
    photos = _photos(patient)
    bundle = everything_bundle(patient, list(RESOURCE_TYPES))
    summary = render_to_string("fhirapi/export_summary.html", summary_context(patient, photos))
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("bundle.json", json.dumps(bundle, ensure_ascii=False, indent=2))
        zipped.writestr("summary.html", summary)
        for exported in photos:
            if exported.source is not None:
                # Already compressed images: stored as they are.
                zipped.write(exported.source, exported.name, compress_type=zipfile.ZIP_STORED)
        for consent in patient.consents.exclude(signature_png=None):
            zipped.writestr(signature_name(consent), bytes(consent.signature_png), compress_type=zipfile.ZIP_STORED)
    archive.seek(0)
    return archive
