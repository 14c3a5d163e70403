"""Writes of patient records. Each function validates with full_clean() and, for clinical
data, writes its audit entry in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import CONTACT_DETAILS, Actor, audit_record
from clinic.models import AuditEntry
from clinic.services import apply_fields
from patients.models import (
    SEARCH_WORD_SEPARATORS,
    ConsentDocument,
    ConsentRecord,
    HistoryItem,
    NameWord,
    Patient,
    SkinProfile,
    Source,
)
from patients.selectors import normalize_name
from patients.signatures import signature_clean_png

PATIENT_FIELDS = (
    "first_name", "last_name", "date_of_birth", "sex", "phone", "email", "address_line1", "address_line2",
    "city", "postcode", "country", "emergency_contact_name", "emergency_contact_relationship",
    "emergency_contact_phone", "preferred_contact_channel", "reminder_emails_consent", "reception_notes",
)  # fmt: skip


@transaction.atomic
def patient_register(*, fields: dict[str, Any], actor: Actor) -> Patient:
    patient = Patient(created_by=actor.user)
    apply_fields(patient, fields, PATIENT_FIELDS)
    patient.email = patient.email.lower()
    if patient.reminder_emails_consent:
        patient.reminder_emails_consent_changed_at = timezone.now()
    patient.full_clean()
    patient.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, patient=patient, obj=patient, object_type=CONTACT_DETAILS
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, fields: dict[str, Any], actor: Actor) -> Patient:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.is_erased:
        raise ValidationError("This record was erased: it cannot be changed.")
    consent_before = patient.reminder_emails_consent
    apply_fields(patient, fields, PATIENT_FIELDS)
    patient.email = patient.email.lower()
    if patient.reminder_emails_consent != consent_before:
        patient.reminder_emails_consent_changed_at = timezone.now()
        if patient.reminder_emails_consent:
            # Consent given again at the desk lifts an earlier unsubscribe.
            patient.email_unsubscribed_at = None
    patient.full_clean()
    patient.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, patient=patient, obj=patient, object_type=CONTACT_DETAILS
    )
    return patient


@transaction.atomic
def patient_unsubscribe_emails(*, patient: Patient) -> bool:
    """The patient followed an unsubscribe link: no more emails, consent withdrawn.
    Returns False if they had already unsubscribed."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.email_unsubscribed_at is not None:
        return False
    now = timezone.now()
    patient.email_unsubscribed_at = now
    if patient.reminder_emails_consent:
        patient.reminder_emails_consent = False
        patient.reminder_emails_consent_changed_at = now
    patient.save(
        update_fields=[
            "email_unsubscribed_at",
            "reminder_emails_consent",
            "reminder_emails_consent_changed_at",
            "updated_at",
        ]
    )
    return True


def patient_has_clinical_records(patient: Patient) -> bool:
    """Any clinical record in any app (medical history, skin profile, consent, consultation,
    plan, session, photo...): see patients/erasure.py. Appointments, emails and the audit
    trail are not clinical records."""
    from patients.erasure import last_clinical_record

    return last_clinical_record(patient) is not None


@transaction.atomic
def patient_archive(*, patient: Patient, archived_by) -> Patient:
    if patient.is_archived:
        raise ValidationError("This patient is already archived.")
    patient.archived_at = timezone.now()
    patient.archived_by = archived_by
    patient.save(update_fields=["archived_at", "archived_by", "updated_at"])
    return patient


@transaction.atomic
def patient_restore(*, patient: Patient) -> Patient:
    if patient.is_erased:
        raise ValidationError("This record was erased: it stays archived.")
    if not patient.is_archived:
        raise ValidationError("This patient is not archived.")
    patient.archived_at = None
    patient.archived_by = None
    patient.save(update_fields=["archived_at", "archived_by", "updated_at"])
    return patient


def patient_delete(*, patient: Patient, actor: Actor) -> None:
    """Only a record made by mistake, with no clinical data, may be deleted; its appointments
    stay in the calendar's history under an "Erased patient" placeholder (patients/erasure.py)."""
    from patients.erasure import patient_erase

    if patient_has_clinical_records(patient):
        raise ValidationError("This patient has clinical records: archive the record instead of deleting it.")
    patient_erase(patient=patient, actor=actor, note="Record made by mistake", mistake=True)


def name_words_prune() -> int:
    """Forget the words of the search's word list (NameWord) that no patient's name holds any
    more (after a deletion or an erasure), so that no trace of a removed name stays behind.
    Returns how many were forgotten."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM {NameWord._meta.db_table} AS known
            WHERE NOT EXISTS (
                SELECT 1 FROM {Patient._meta.db_table} AS patient
                WHERE regexp_split_to_array(patient.search_key, %s) @> ARRAY[known.word]
            )
            """,  # noqa: S608 - the table names are ours
            [SEARCH_WORD_SEPARATORS],
        )
        return cursor.rowcount


HISTORY_FIELDS = ("category", "code", "name", "details", "started_on", "ended_on", "status")


def _validate_code(item: HistoryItem) -> None:
    allowed = HistoryItem.CODES_BY_CATEGORY.get(item.category, [])
    if item.code not in allowed:
        raise ValidationError(
            {"code": f"'{item.get_code_display()}' is not a type of {item.get_category_display().lower()}."}
        )


def _mark_reported(record: HistoryItem | SkinProfile, actor: Actor) -> None:
    """The patient said it (intake questionnaire); the doctor recording it is the reviewer."""
    record.source = Source.PATIENT
    record.reviewed_by = actor.user


@transaction.atomic
def history_item_record(
    *, patient: Patient, fields: dict[str, Any], actor: Actor, reported_by_patient: bool = False
) -> HistoryItem:
    item = HistoryItem(patient=patient, recorded_by=actor.user)
    if reported_by_patient:
        _mark_reported(item, actor)
    apply_fields(item, fields, HISTORY_FIELDS)
    item.full_clean()
    _validate_code(item)
    item.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, patient=patient, obj=item)
    return item


@transaction.atomic
def history_item_revise(*, item: HistoryItem, fields: dict[str, Any], actor: Actor) -> HistoryItem:
    """Write a new version of ``item``; the earlier one stays, marked superseded."""
    current = HistoryItem.objects.select_for_update().get(pk=item.pk)
    if current.is_superseded:
        raise ValidationError("This entry was changed meanwhile by someone else: reload it and try again.")
    revised = HistoryItem(
        patient=current.patient, lineage=current.lineage, version=current.version + 1, recorded_by=actor.user
    )
    for name in HISTORY_FIELDS:
        setattr(revised, name, getattr(current, name))
    fields = {name: value for name, value in fields.items() if name != "category"}
    apply_fields(revised, fields, HISTORY_FIELDS)
    revised.full_clean(validate_constraints=False)
    _validate_code(revised)
    current.superseded_at = timezone.now()
    current.save(update_fields=["superseded_at"])
    revised.save()
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, patient=current.patient, obj=revised)
    return revised


SKIN_FIELDS = (
    "fitzpatrick_type", "concerns", "pregnancy", "cleanser", "actives", "sunscreen_use", "routine_notes",
    "sun_exposure", "smoking", "stress", "lifestyle_notes",
)  # fmt: skip


@transaction.atomic
def skin_profile_record(
    *, patient: Patient, fields: dict[str, Any], actor: Actor, reported_by_patient: bool = False
) -> SkinProfile:
    """Record the patient's skin profile; a change is a new version of the previous one.
    ``fields`` may be some of SKIN_FIELDS: the others keep their current values."""
    # Lock the patient so that two doctors saving at once make two versions in order.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    previous = patient.skin_profiles.current().first()
    profile = SkinProfile(patient=patient, recorded_by=actor.user)
    if previous is not None:
        profile.lineage = previous.lineage
        profile.version = previous.version + 1
        for name in SKIN_FIELDS:
            setattr(profile, name, getattr(previous, name))
    if reported_by_patient:
        _mark_reported(profile, actor)
    apply_fields(profile, fields, SKIN_FIELDS)
    profile.full_clean(validate_constraints=False)
    if previous is not None:
        previous.superseded_at = timezone.now()
        previous.save(update_fields=["superseded_at"])
    profile.save()
    action = AuditEntry.Action.UPDATE if previous is not None else AuditEntry.Action.CREATE
    audit_record(actor=actor, action=action, patient=patient, obj=profile)
    return profile


def _names_match(typed: str, patient: Patient) -> bool:
    """The typed name holds every word of the patient's first and last names, in any order,
    ignoring case and accents (a middle name may be added)."""
    typed_words = set(normalize_name(typed).replace("-", " ").split())
    wanted = normalize_name(f"{patient.first_name} {patient.last_name}").replace("-", " ").split()
    return bool(wanted) and all(word in typed_words for word in wanted)


@transaction.atomic
def consent_give(
    *,
    patient: Patient,
    document: ConsentDocument,
    signed_name: str,
    signature_png: bytes,
    witnessed_by,
    actor: Actor,
) -> ConsentRecord:
    """The patient agrees to the current text of a consent and signs it on the clinic's tablet
    (drawn signature and typed name), in front of a staff witness. Given and signed now."""
    if not ConsentDocument.objects.current().filter(pk=document.pk).exists():
        raise ValidationError(
            {"document": "This version of the consent text is no longer the current one: read the current text."}
        )
    if not witnessed_by.is_active:
        raise ValidationError({"witnessed_by": "The witness must be an active staff member."})
    signed_name = " ".join(signed_name.split())
    if not _names_match(signed_name, patient):
        on_record = f"{patient.first_name} {patient.last_name}"
        raise ValidationError({"signed_name": f"Type the patient's full name as on the record ({on_record})."})
    try:
        signature = signature_clean_png(signature_png)
    except ValidationError as error:
        raise ValidationError({"signature": error.messages}) from None
    now = timezone.now()
    record = ConsentRecord(
        patient=patient,
        document=document,
        given_at=now,
        witnessed_by=witnessed_by,
        recorded_by=actor.user,
        recorded_at=now,
        signature_png=signature,
        signed_name=signed_name,
        signed_at=now,
    )
    record.signature_sha256 = record.compute_signature_hash()
    record.full_clean()
    record.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, patient=patient, obj=record)
    return record


@transaction.atomic
def consent_withdraw(*, consent: ConsentRecord, reason: str, actor: Actor) -> ConsentRecord:
    consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
    if consent.is_withdrawn:
        raise ValidationError("This consent was already withdrawn.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the consent is withdrawn."})
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = actor.user
    consent.withdrawal_reason = reason.strip()
    consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    audit_record(actor=actor, action=AuditEntry.Action.WITHDRAW, patient=consent.patient, obj=consent)
    return consent


@dataclass(frozen=True)
class HistoryRow:
    """One line of the medical history form: an entry as it is now (``item``, None for a new
    one) and what the form says it should be."""

    item: HistoryItem | None
    fields: dict[str, Any]
    remove: bool = False


@dataclass(frozen=True)
class HistoryChanges:
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed


def history_row_changed(item: HistoryItem, fields: dict[str, Any]) -> bool:
    return any(getattr(item, name) != value for name, value in fields.items() if name != "category")


@transaction.atomic
def medical_history_save(*, patient: Patient, rows: list[HistoryRow], actor: Actor) -> HistoryChanges:
    """Save the whole medical history form at once: a new version only for the entries that
    changed, a first version for the new ones; an entry removed is marked entered in error
    (its versions stay). Unchanged entries are not touched. All or nothing."""
    added = changed = removed = 0
    for row in rows:
        if row.item is None:
            history_item_record(patient=patient, fields=row.fields, actor=actor)
            added += 1
        elif row.remove:
            if row.item.status != HistoryItem.Status.ENTERED_IN_ERROR:
                history_item_revise(item=row.item, fields={"status": HistoryItem.Status.ENTERED_IN_ERROR}, actor=actor)
                removed += 1
        elif history_row_changed(row.item, row.fields):
            history_item_revise(item=row.item, fields=row.fields, actor=actor)
            changed += 1
    return HistoryChanges(added=added, changed=changed, removed=removed)
