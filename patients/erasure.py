"""Erasure of personal data and the retention of clinical records.

What happens when a patient asks to be forgotten:

- **No clinical data** (no medical history, skin profile, consent, consultation, plan, session,
  photo...): the patient record is deleted. Their appointments stay in the calendar's history,
  moved to a placeholder record ("Erased patient", no personal data, one per erased patient so
  that the calendar's no-overlap constraints hold as before); future ones are cancelled; their
  outbox rows are deleted.
- **Clinical data**: clinical records must be kept (``retention_date``); the request is
  recorded and refused for the clinical part, and the contact and marketing data is erased at
  once (phone, email, address, emergency contact, reminder consent, notes; unsent emails
  cancelled and the addresses on sent ones blanked). Name and date of birth stay: they identify
  the clinical record.

Every request is an ``ErasureRequest`` row: who asked, when, the outcome, the retention date.

The retention job (``retention_review``, daily by Celery beat) lists the records whose
retention date has passed as pending requests; a manager confirms each before it is purged
(``retention_purge``), and the purge is audited.

patients knows no app to its right (treatments, scheduling, messaging). Each app that keeps
data about patients registers a ``PatientData`` here (in its AppConfig.ready): the date of its
latest clinical record per patient, what to do to erase contact data, and how to remove the
rest before the patient row goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry
from patients.models import ErasureRequest, Patient

# patient ids (None: every patient) -> {patient id: date of the latest clinical record}
LastClinicalRecord = Callable[[Iterable[int] | None], dict[int, date]]


@dataclass(frozen=True)
class PatientData:
    """What one app keeps about patients.

    last_clinical_record: the date of each patient's latest clinical record in this app.
    erase_contact(patient): forget how to reach the patient (the record stays).
    erase(patient, placeholder): remove or detach everything of the patient's before the patient
        row is deleted; what must stay for the calendar's history is moved to ``placeholder``.
        Runs only for a patient without clinical data, or after a confirmed retention purge.
    """

    name: str
    last_clinical_record: LastClinicalRecord | None = None
    erase_contact: Callable[[Patient], None] | None = None
    erase: Callable[[Patient, Patient], None] | None = None


_SOURCES: list[PatientData] = []


def register_patient_data(source: PatientData) -> None:
    if all(existing.name != source.name for existing in _SOURCES):
        _SOURCES.append(source)


def _in(queryset, field: str, patient_ids: Iterable[int] | None):
    return queryset if patient_ids is None else queryset.filter(**{f"{field}__in": list(patient_ids)})


def latest_per_patient(queryset, field: str, patient_ids: Iterable[int] | None) -> dict[int, date]:
    """{patient id: the latest ``field`` (a date or a date-time, as a local date)} of ``queryset``."""
    rows = _in(queryset, "patient_id", patient_ids).values("patient_id").annotate(last=Max(field)).order_by()
    result = {}
    for row in rows:
        value = row["last"]
        if isinstance(value, datetime):
            value = timezone.localdate(value)
        if value is not None:
            result[row["patient_id"]] = value
    return result


def last_clinical_records(patient_ids: Iterable[int] | None = None) -> dict[int, date]:
    """{patient id: the date of the latest clinical record in any app}; patients without
    clinical data are absent."""
    ids = None if patient_ids is None else list(patient_ids)
    latest: dict[int, date] = {}
    for source in _SOURCES:
        if source.last_clinical_record is None:
            continue
        for patient_id, day in source.last_clinical_record(ids).items():
            if patient_id not in latest or day > latest[patient_id]:
                latest[patient_id] = day
    return latest


def last_clinical_record(patient: Patient) -> date | None:
    return last_clinical_records([patient.pk]).get(patient.pk)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retention_date(patient: Patient, last_record: date) -> date:
    """Until when clinical records are kept: CLINICAL_RETENTION_YEARS after the latest one,
    and for a patient first treated as a minor, at least until their
    CLINICAL_RETENTION_MINOR_UNTIL_AGE-th birthday (whichever is later). For an adult the
    second date has always passed, so one rule serves both."""
    after_last = _add_years(last_record, settings.CLINICAL_RETENTION_YEARS)
    coming_of_age = _add_years(patient.date_of_birth, settings.CLINICAL_RETENTION_MINOR_UNTIL_AGE)
    return max(after_last, coming_of_age)


def retention_rule() -> str:
    return (
        f"{settings.CLINICAL_RETENTION_YEARS} years after the last clinical record, and for a patient "
        f"treated as a minor at least until their {settings.CLINICAL_RETENTION_MINOR_UNTIL_AGE}th birthday"
    )


def patient_retention_date(patient: Patient) -> date | None:
    last = last_clinical_record(patient)
    return None if last is None else retention_date(patient, last)


# Services --------------------------------------------------------------------------------


def _placeholder_for(patient: Patient, now) -> Patient:
    return Patient.objects.create(
        first_name="Erased",
        last_name="patient",
        date_of_birth=date(1900, 1, 1),
        sex=Patient.Sex.UNDISCLOSED,
        preferred_contact_channel=Patient.ContactChannel.PHONE,
        archived_at=now,
        erased_at=now,
        created_at=now,
    )


def _erase_everything(patient: Patient, *, actor: Actor, object_type: str) -> None:
    """Remove the patient record and everything of theirs; what the calendar keeps goes to a
    placeholder (deleted again if nothing needed it)."""
    now = timezone.now()
    placeholder = _placeholder_for(patient, now)
    # Registered left to right along the imports; the apps to the right hold references to the
    # records of those to their left (an appointment to its plan), so they go first.
    for source in reversed(_SOURCES):
        if source.erase is not None:
            source.erase(patient, placeholder)
    audit_record(actor=actor, action=AuditEntry.Action.DELETE, patient=patient, object_type=object_type)
    try:
        patient.delete()
    except ProtectedError as error:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise ValidationError(
            f"The record still has {', '.join(kinds)}; it cannot be erased. Archive it instead."
        ) from None
    if not placeholder.appointments.exists():
        placeholder.delete()
    from patients.services import name_words_prune  # services calls this module

    name_words_prune()  # no word of the erased name stays in the search's word list


def _erase_contact(patient: Patient, now) -> None:
    patient.phone = ""
    patient.email = ""
    patient.address_line1 = patient.address_line2 = patient.city = patient.postcode = patient.country = ""
    patient.emergency_contact_name = patient.emergency_contact_relationship = patient.emergency_contact_phone = ""
    patient.reception_notes = ""
    patient.preferred_contact_channel = Patient.ContactChannel.PHONE
    if patient.reminder_emails_consent:
        patient.reminder_emails_consent = False
        patient.reminder_emails_consent_changed_at = now
    patient.email_unsubscribed_at = patient.email_unsubscribed_at or now
    patient.save()
    for source in _SOURCES:
        if source.erase_contact is not None:
            source.erase_contact(patient)


@transaction.atomic
def patient_erase(*, patient: Patient, actor: Actor, note: str = "", mistake: bool = False) -> ErasureRequest:
    """The patient asked to have their personal data erased: erase what may be erased and
    record the request with its outcome."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.is_erased:
        raise ValidationError("This record was already erased.")
    now = timezone.now()
    request = ErasureRequest(
        patient_number=patient.pk,
        source=ErasureRequest.Source.MISTAKE if mistake else ErasureRequest.Source.PATIENT,
        requested_by=actor.user,
        requested_at=now,
        note=note.strip(),
        decided_by=actor.user,
        decided_at=now,
    )
    last = last_clinical_record(patient)
    if last is None:
        # The pending retention proposal, if any, is settled by this erasure.
        ErasureRequest.objects.filter(patient_number=patient.pk, outcome=ErasureRequest.Outcome.PENDING).delete()
        _erase_everything(patient, actor=actor, object_type="patient record (erased on request)")
        request.outcome = ErasureRequest.Outcome.ERASED
    else:
        _erase_contact(patient, now)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            patient=patient,
            object_type="contact data (erased on request)",
        )
        request.patient = patient
        request.outcome = ErasureRequest.Outcome.CONTACT_ERASED
        request.retain_until = retention_date(patient, last)
    request.full_clean(validate_constraints=False)
    request.save()
    return request


def records_past_retention(today: date | None = None) -> list[tuple[int, date]]:
    """(patient id, retention date) of every record with clinical data kept past its date."""
    today = today or timezone.localdate()
    latest = last_clinical_records()
    births = dict(
        Patient.objects.filter(pk__in=list(latest), erased_at__isnull=True).values_list("pk", "date_of_birth")
    )
    due = []
    for patient_id, born in births.items():
        until = retention_date(Patient(date_of_birth=born), latest[patient_id])
        if until < today:
            due.append((patient_id, until))
    return sorted(due)


@transaction.atomic
def retention_review(today: date | None = None) -> int:
    """The daily job: list every record past its retention date for a manager to confirm
    (one pending request per record). Returns how many were added."""
    pending = set(
        ErasureRequest.objects.filter(outcome=ErasureRequest.Outcome.PENDING).values_list("patient_number", flat=True)
    )
    new = [
        ErasureRequest(
            patient_id=patient_id,
            patient_number=patient_id,
            source=ErasureRequest.Source.RETENTION,
            outcome=ErasureRequest.Outcome.PENDING,
            retain_until=until,
        )
        for patient_id, until in records_past_retention(today)
        if patient_id not in pending
    ]
    # Two beats by mistake: the one-pending-per-record constraint keeps the list single.
    ErasureRequest.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def retention_purge(*, request: ErasureRequest, actor: Actor) -> ErasureRequest:
    """A manager confirmed the purge of a record past its retention date: delete it with its
    clinical records (checked again now: a new record since the job ran moves the date)."""
    request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
    if request.outcome != ErasureRequest.Outcome.PENDING:
        raise ValidationError("This request was already decided.")
    patient = request.patient
    if patient is None:
        request.delete()
        raise ValidationError("This record no longer exists; the request was removed.")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    last = last_clinical_record(patient)
    until = retention_date(patient, last) if last is not None else None
    if until is not None and until >= timezone.localdate():
        request.delete()
        raise ValidationError(
            f"Patient #{patient.pk}'s records must now be kept until {until:%d %b %Y}: nothing was purged."
        )
    # Confirmed: the database's locks on signed records let this patient's rows be deleted
    # (patients/migrations/0008) while the request is pending and decided, in this transaction.
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.save(update_fields=["decided_by", "decided_at"])
    _erase_everything(patient, actor=actor, object_type="patient record (purged after retention)")
    request.refresh_from_db()  # the patient link was cleared by the delete
    request.outcome = ErasureRequest.Outcome.PURGED
    request.save(update_fields=["outcome", "patient"])
    return request


# This app's own records ------------------------------------------------------------------


def _patients_last_clinical_record(patient_ids):
    from patients.models import ConsentRecord, HistoryItem, SkinProfile

    latest: dict[int, date] = {}
    for queryset, field in (
        (HistoryItem.objects.all(), "recorded_at"),
        (SkinProfile.objects.all(), "recorded_at"),
        (ConsentRecord.objects.all(), "recorded_at"),
    ):
        for patient_id, day in latest_per_patient(queryset, field, patient_ids).items():
            latest[patient_id] = max(day, latest.get(patient_id, day))
    return latest


def _patients_erase(patient: Patient, placeholder: Patient) -> None:
    patient.consents.all().delete()
    patient.skin_profiles.all().delete()
    patient.history_items.all().delete()


register_patient_data(
    PatientData(name="patients", last_clinical_record=_patients_last_clinical_record, erase=_patients_erase)
)
