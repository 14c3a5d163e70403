"""What outbox rows are about and what makes each one unique: written here and read back here.

The formats are stored in every row (and a dedupe key is unique), so they never change:

    subject ref   <subject>:<id>                       appointment:42, plan:7, session:9
    dedupe key    <subject ref>:<kind>                 appointment:42:booking_confirmation
                  <subject ref>:<kind>:<start>         appointment:42:appointment_reminder:1900000000
                  <subject ref>:<kind>:patient:<id>    batch:3:lot_recall_notice:patient:42

``<start>`` (Unix seconds) ties a message to the time its appointment started when it was
written: a reminder is not sent twice for the same time, but a move to another time needs
a new one. ``patient:<id>`` makes one message per patient about a subject that concerns
several patients (a recalled batch). Each app names its subjects (``Appointment.SUBJECT``,
``TreatmentPlan.SUBJECT``, ``Batch.SUBJECT``...); messaging knows none of them.
"""

from __future__ import annotations

from datetime import datetime


def subject_ref(subject: str, object_id: int) -> str:
    return f"{subject}:{object_id}"


def ref_id(ref: str, subject: str) -> int | None:
    """The id in ``ref`` if it is about a ``subject`` (e.g. 42 for "appointment:42"), else None."""
    prefix, _, value = ref.partition(":")
    if prefix != subject or not value.isdigit():
        return None
    return int(value)


def start_stamp(starts_at: datetime) -> int:
    return int(starts_at.timestamp())


def message_key(ref: str, kind: str, *, starts_at: datetime | None = None) -> str:
    """The dedupe key of the one message of ``kind`` about ``ref`` (for the start ``starts_at``)."""
    key = f"{ref}:{kind}"
    return key if starts_at is None else f"{key}:{start_stamp(starts_at)}"


def patient_message_key(ref: str, kind: str, patient_id: int) -> str:
    """The dedupe key of the one message of ``kind`` to one patient about ``ref``, when ``ref``
    concerns several patients (e.g. every patient who received a recalled batch)."""
    return f"{ref}:{kind}:patient:{patient_id}"


def key_start(key: str) -> int | None:
    """The start (Unix seconds) a key was made for, or None if it was made without one."""
    parts = key.split(":")
    return int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else None
