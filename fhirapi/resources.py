"""The clinic's records as FHIR R4 resources (plain dicts, serialised as JSON).

What maps to what:
- Patient: the patient record (archived records are ``active: false``).
- Practitioner: a staff user who treats (a doctor, or anyone with a calendar); id = user id.
- Appointment: an appointment; the room is a participant named by display only.
- AllergyIntolerance, Condition, MedicationStatement, Procedure: the current version of a
  medical history entry, by category (previous aesthetic treatments are Procedures); the id is
  the entry's lineage (stable across versions), ``meta.versionId`` its version.
- Procedure ``session-<id>``: a signed treatment session; each batch used is a contained
  Medication with its lot number and expiry, referenced from ``usedReference``; the amounts
  are in a note (FHIR R4 Procedure has no field for an amount used).
- Observation: a doctor's or patient's outcome rating of a signed session (four components).
- Consent: a consent record, with the text the patient consented to as its source attachment.
- CarePlan: a treatment plan (course), one activity per planned session.

Codes the clinic defines itself (history types, rating scores) are under ``code_system()``,
an address of this installation; free text is always given as ``text`` too.
"""

from __future__ import annotations

import base64
from datetime import date, datetime

from django.conf import settings

from patients.models import ConsentDocument, ConsentRecord, HistoryItem, Patient
from scheduling.models import Appointment
from treatments.models import OutcomeRating, TreatmentPlan, TreatmentSession

Resource = dict

HISTORY_TYPES = {
    HistoryItem.Category.ALLERGY: "AllergyIntolerance",
    HistoryItem.Category.CONDITION: "Condition",
    HistoryItem.Category.MEDICATION: "MedicationStatement",
    HistoryItem.Category.PREVIOUS_TREATMENT: "Procedure",
}
CATEGORY_OF_TYPE = {resource_type: category for category, resource_type in HISTORY_TYPES.items()}
SESSION_ID_PREFIX = "session-"

GENDER = {
    Patient.Sex.FEMALE: "female",
    Patient.Sex.MALE: "male",
    Patient.Sex.OTHER: "other",
    Patient.Sex.UNDISCLOSED: "unknown",
}
APPOINTMENT_STATUS = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.CONFIRMED: "booked",
    Appointment.Status.ARRIVED: "arrived",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
}
CAREPLAN_STATUS = {
    TreatmentPlan.Status.PROPOSED: "draft",
    TreatmentPlan.Status.ACTIVE: "active",
    TreatmentPlan.Status.COMPLETED: "completed",
    TreatmentPlan.Status.CANCELLED: "revoked",
}
# The clinical status of a history entry (AllergyIntolerance, Condition).
CLINICAL_STATUS = {HistoryItem.Status.CURRENT: "active", HistoryItem.Status.PAST: "inactive"}
MEDICATION_STATUS = {
    HistoryItem.Status.CURRENT: "active",
    HistoryItem.Status.PAST: "completed",
    HistoryItem.Status.ENTERED_IN_ERROR: "entered-in-error",
}
ALLERGY_CATEGORY = {
    HistoryItem.Code.LOCAL_ANAESTHETIC: "medication",
    HistoryItem.Code.INGREDIENT: "medication",
    HistoryItem.Code.LATEX: "environment",
}
CONSENT_SCOPE = {
    ConsentDocument.Procedure.MESOTHERAPY: ("treatment", "Treatment"),
    ConsentDocument.Procedure.PHOTOGRAPHY: ("patient-privacy", "Privacy Consent"),
}
RATING_SCORES = {
    "hydration": "Hydration",
    "radiance": "Radiance (glow)",
    "fine_lines": "Fine lines",
    "satisfaction": "Overall satisfaction",
}

HL7 = "http://terminology.hl7.org/CodeSystem"


def base_url() -> str:
    return settings.SITE_URL.rstrip("/")


def code_system(name: str) -> str:
    return f"{base_url()}/fhir/CodeSystem/{name}"


def patient_identifier_system() -> str:
    return f"{base_url()}/fhir/sid/patient-number"


def instant(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def reference(resource_type: str, resource_id, display: str | None = None) -> dict:
    ref = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def practitioner_reference(user) -> dict:
    return reference("Practitioner", user.pk, user.get_full_name() or user.get_username())


def patient_reference(patient: Patient) -> dict:
    return reference("Patient", patient.pk, patient.full_name)


def concept(text: str, *, system: str | None = None, code: str | None = None, display: str | None = None) -> dict:
    value: dict = {"text": text}
    if system and code:
        value["coding"] = [{"system": system, "code": code, "display": display or text}]
    return value


def hl7_concept(name: str, code: str, display: str | None = None) -> dict:
    coding = {"system": f"{HL7}/{name}", "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _clean(resource: dict) -> dict:
    """Drop empty values: FHIR forbids empty strings, lists and objects."""
    cleaned = {}
    for key, value in resource.items():
        if isinstance(value, dict):
            value = _clean(value)
        elif isinstance(value, list):
            value = [_clean(item) if isinstance(item, dict) else item for item in value]
            value = [item for item in value if item not in (None, "", {}, [])]
        if value in (None, "", {}, []):
            continue
        cleaned[key] = value
    return cleaned


def _notes(*texts: str) -> list[dict]:
    return [{"text": text} for text in texts if text and text.strip()]


# Desk resources ---------------------------------------------------------------------------


def patient_resource(patient: Patient) -> Resource:
    prefers_phone = patient.preferred_contact_channel in (Patient.ContactChannel.PHONE, Patient.ContactChannel.SMS)
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "rank": 1 if prefers_phone else 2})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email, "rank": 2 if prefers_phone else 1})
    address = []
    if patient.address_line1 or patient.city or patient.postcode:
        address.append(
            {
                "line": [line for line in (patient.address_line1, patient.address_line2) if line],
                "city": patient.city,
                "postalCode": patient.postcode,
                "country": patient.country,
            }
        )
    contact = []
    if patient.emergency_contact_name:
        contact.append(
            {
                "relationship": [
                    hl7_concept("v2-0131", "C", "Emergency Contact"),
                    {"text": patient.emergency_contact_relationship},
                ],
                "name": {"text": patient.emergency_contact_name},
                "telecom": [{"system": "phone", "value": patient.emergency_contact_phone}]
                if patient.emergency_contact_phone
                else [],
            }
        )
    return _clean(
        {
            "resourceType": "Patient",
            "id": str(patient.pk),
            "meta": {"lastUpdated": instant(patient.updated_at)},
            "identifier": [{"system": patient_identifier_system(), "value": str(patient.pk)}],
            "active": not patient.is_archived,
            "name": [
                {
                    "use": "official",
                    "text": patient.full_name,
                    "family": patient.last_name,
                    "given": [patient.first_name],
                }
            ],
            "telecom": telecom,
            "gender": GENDER.get(patient.sex, "unknown"),
            "birthDate": day(patient.date_of_birth),
            "address": address,
            "contact": contact,
        }
    )


def practitioner_resource(user) -> Resource:
    practitioner = getattr(user, "practitioner", None)
    active = user.is_active and (practitioner is None or practitioner.is_active)
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": str(user.pk),
            "active": active,
            "name": [
                {
                    "text": user.get_full_name() or user.get_username(),
                    "family": user.last_name,
                    "given": [user.first_name] if user.first_name else [],
                }
            ],
            "telecom": [{"system": "email", "value": user.email, "use": "work"}] if user.email else [],
        }
    )


def appointment_resource(appointment: Appointment) -> Resource:
    practitioner_user = appointment.practitioner.user
    description = appointment.appointment_type.name
    if appointment.plan_id and appointment.plan_session_number:
        description = f"{description}: session {appointment.plan_session_number} of a treatment course"
    return _clean(
        {
            "resourceType": "Appointment",
            "id": str(appointment.pk),
            "meta": {"lastUpdated": instant(appointment.updated_at)},
            "status": APPOINTMENT_STATUS[appointment.status],
            "cancelationReason": {"text": appointment.cancel_reason} if appointment.cancel_reason else None,
            "appointmentType": concept(appointment.appointment_type.name),
            "description": description,
            "start": instant(appointment.starts_at),
            "end": instant(appointment.ends_at),
            "minutesDuration": appointment.duration_minutes,
            "created": instant(appointment.created_at),
            "comment": appointment.notes,
            "participant": [
                {"actor": patient_reference(appointment.patient), "required": "required", "status": "accepted"},
                {"actor": practitioner_reference(practitioner_user), "required": "required", "status": "accepted"},
                {
                    "type": [concept("Room")],
                    "actor": {"display": appointment.room.name},
                    "required": "information-only",
                    "status": "accepted",
                },
            ],
        }
    )


# Medical history --------------------------------------------------------------------------


def history_resource(item: HistoryItem) -> Resource:
    builder = {
        HistoryItem.Category.ALLERGY: _allergy,
        HistoryItem.Category.CONDITION: _condition,
        HistoryItem.Category.MEDICATION: _medication_statement,
        HistoryItem.Category.PREVIOUS_TREATMENT: _previous_treatment,
    }[item.category]
    resource = {
        "resourceType": HISTORY_TYPES[item.category],
        "id": str(item.lineage),
        "meta": {"versionId": str(item.version), "lastUpdated": instant(item.recorded_at)},
        **builder(item),
    }
    return _clean(resource)


def _history_code(item: HistoryItem) -> dict:
    return {
        "text": item.name,
        "coding": [{"system": code_system("history-type"), "code": item.code, "display": item.get_code_display()}],
    }


def _in_error(item: HistoryItem) -> bool:
    return item.status == HistoryItem.Status.ENTERED_IN_ERROR


def _allergy(item: HistoryItem) -> dict:
    # A clinical status must not be given for an entry made in error (FHIR invariant ait-2).
    return {
        "clinicalStatus": None
        if _in_error(item)
        else hl7_concept("allergyintolerance-clinical", CLINICAL_STATUS[item.status]),
        "verificationStatus": hl7_concept("allergyintolerance-verification", "entered-in-error")
        if _in_error(item)
        else None,
        "category": [ALLERGY_CATEGORY[item.code]] if item.code in ALLERGY_CATEGORY else [],
        "code": _history_code(item),
        "patient": patient_reference(item.patient),
        "onsetDateTime": day(item.started_on),
        "lastOccurrence": day(item.ended_on),
        "recordedDate": instant(item.recorded_at),
        "recorder": practitioner_reference(item.recorded_by),
        "note": _notes(item.details),
    }


def _condition(item: HistoryItem) -> dict:
    return {
        "clinicalStatus": None if _in_error(item) else hl7_concept("condition-clinical", CLINICAL_STATUS[item.status]),
        "verificationStatus": hl7_concept("condition-ver-status", "entered-in-error") if _in_error(item) else None,
        "category": [hl7_concept("condition-category", "problem-list-item", "Problem List Item")],
        "code": _history_code(item),
        "subject": patient_reference(item.patient),
        "onsetDateTime": day(item.started_on),
        "abatementDateTime": day(item.ended_on),
        "recordedDate": instant(item.recorded_at),
        "recorder": practitioner_reference(item.recorded_by),
        "note": _notes(item.details),
    }


def _medication_statement(item: HistoryItem) -> dict:
    return {
        "status": MEDICATION_STATUS[item.status],
        "medicationCodeableConcept": _history_code(item),
        "subject": patient_reference(item.patient),
        "effectivePeriod": {"start": day(item.started_on), "end": day(item.ended_on)},
        "dateAsserted": instant(item.recorded_at),
        "informationSource": practitioner_reference(item.recorded_by),
        "note": _notes(item.details),
    }


def _previous_treatment(item: HistoryItem) -> dict:
    return {
        "status": "entered-in-error" if _in_error(item) else "completed",
        "category": concept("Previous aesthetic treatment"),
        "code": _history_code(item),
        "subject": patient_reference(item.patient),
        "performedPeriod": {"start": day(item.started_on), "end": day(item.ended_on)},
        "recorder": practitioner_reference(item.recorded_by),
        "note": _notes(item.details),
    }


# Treatments -------------------------------------------------------------------------------


def session_id(session: TreatmentSession) -> str:
    return f"{SESSION_ID_PREFIX}{session.pk}"


def session_resource(session: TreatmentSession) -> Resource:
    """A signed treatment session. Expects batch_usages__batch__product, addenda and plan loaded."""
    contained, used, batch_notes = [], [], []
    for usage in session.batch_usages.all():
        batch = usage.batch
        local_id = f"batch-{batch.pk}"
        contained.append(
            _clean(
                {
                    "resourceType": "Medication",
                    "id": local_id,
                    "code": concept(f"{batch.product.name} ({batch.product.manufacturer})"),
                    "batch": {"lotNumber": batch.lot_number, "expirationDate": day(batch.expiry_date)},
                }
            )
        )
        used.append({"reference": f"#{local_id}", "display": f"{batch.product.name} lot {batch.lot_number}"})
        batch_notes.append(f"{batch.product.name} lot {batch.lot_number}: {usage.amount} ml")
    details = []
    if session.technique:
        details.append(f"Technique: {session.get_technique_display()}.")
    if session.injection_sites:
        details.append(f"Injection sites and depth: {session.injection_sites}")
    if session.pain_score is not None:
        details.append(f"Pain score: {session.pain_score}/10.")
    if session.duration_minutes:
        details.append(f"Duration: {session.duration_minutes} minutes.")
    complications = [{"text": label} for label in session.get_reactions_display() if label != "Other"]
    if session.reactions_other:
        complications.append({"text": session.reactions_other})
    addenda = [
        f"Addendum {a.written_at:%Y-%m-%d %H:%M} by {a.author.get_full_name()}: {a.text}" for a in session.addenda.all()
    ]
    return _clean(
        {
            "resourceType": "Procedure",
            "id": session_id(session),
            "meta": {"lastUpdated": instant(session.updated_at)},
            "contained": contained,
            "basedOn": [reference("CarePlan", session.plan_id)],
            "status": "completed",
            "category": concept("Facial mesotherapy"),
            "code": concept(f"Facial mesotherapy, session {session.number} of {session.plan.session_count}"),
            "subject": patient_reference(session.patient),
            "performedDateTime": instant(session.performed_at),
            "recorder": practitioner_reference(session.doctor),
            "performer": [{"actor": practitioner_reference(session.doctor)}],
            "bodySite": [{"text": label} for label in session.get_areas_display()],
            "complication": complications,
            "usedReference": used,
            "note": _notes(
                " ".join(details),
                "Batches used: " + "; ".join(batch_notes) + "." if batch_notes else "",
                session.notes,
                f"Aftercare advice given: {session.aftercare_given}" if session.aftercare_given else "",
                *addenda,
            ),
        }
    )


def rating_resource(rating: OutcomeRating) -> Resource:
    session = rating.session
    by_doctor = rating.rater == OutcomeRating.Rater.DOCTOR
    category = ("exam", "Exam") if by_doctor else ("survey", "Survey")
    return _clean(
        {
            "resourceType": "Observation",
            "id": str(rating.pk),
            "status": "final",
            "partOf": [reference("Procedure", session_id(session))],
            "category": [hl7_concept("observation-category", *category)],
            "code": concept(
                f"Mesotherapy outcome rating by the {rating.get_rater_display().lower()} (1 poor to 5 excellent)",
                system=code_system("outcome-rating"),
                code=rating.rater,
            ),
            "subject": patient_reference(session.patient),
            "effectiveDateTime": instant(session.performed_at),
            "issued": instant(rating.recorded_at),
            "performer": [
                practitioner_reference(rating.recorded_by) if by_doctor else patient_reference(session.patient)
            ],
            "component": [
                {
                    "code": concept(label, system=code_system("outcome-score"), code=score),
                    "valueInteger": getattr(rating, score),
                }
                for score, label in RATING_SCORES.items()
            ],
        }
    )


def careplan_resource(plan: TreatmentPlan) -> Resource:
    """Expects sessions and plan_products__product loaded."""
    signed = {session.number: session for session in plan.sessions.all() if session.is_signed}
    planned = plan.planned_dates()
    activities = []
    for number in range(1, plan.session_count + 1):
        session = signed.get(number)
        if session:
            status = "completed"
        elif plan.status == TreatmentPlan.Status.CANCELLED:
            status = "cancelled"
        elif plan.status == TreatmentPlan.Status.PROPOSED or not planned:
            status = "not-started"
        else:
            status = "scheduled"
        activities.append(
            {
                "outcomeReference": [reference("Procedure", session_id(session))] if session else [],
                "detail": {
                    "kind": "Procedure",
                    "code": concept(f"Facial mesotherapy session {number} of {plan.session_count}"),
                    "status": status,
                    "scheduledString": f"Planned for {planned[number - 1]:%Y-%m-%d}" if planned else None,
                    "performer": [practitioner_reference(plan.doctor)],
                },
            }
        )
    products = "; ".join(f"{item.product.name} {item.amount_per_session} ml" for item in plan.plan_products.all())
    description = (
        f"{plan.session_count} sessions one week apart ({plan.get_technique_display()}, "
        f"numbing: {plan.get_numbing_cream_display()}) on {', '.join(plan.get_areas_display())}; "
        f"maintenance every {plan.maintenance_interval_months} months."
    )
    if products:
        description += f" Products per session: {products}."
    end = plan.completed_at or plan.cancelled_at
    return _clean(
        {
            "resourceType": "CarePlan",
            "id": str(plan.pk),
            "meta": {"lastUpdated": instant(plan.updated_at)},
            "status": CAREPLAN_STATUS[plan.status],
            "intent": "plan",
            "category": [concept("Facial mesotherapy course")],
            "title": f"Mesotherapy course, {plan.session_count} sessions",
            "description": description,
            "subject": patient_reference(plan.patient),
            "period": {"start": day(plan.starts_on), "end": instant(end) if plan.starts_on else None},
            "created": instant(plan.created_at),
            "author": practitioner_reference(plan.doctor),
            "activity": activities,
            "note": _notes(
                plan.notes,
                f"Cancelled: {plan.cancellation_reason}" if plan.cancellation_reason else "",
                f"Maintenance due on {plan.maintenance_due_on:%Y-%m-%d}." if plan.maintenance_due_on else "",
            ),
        }
    )


def consent_resource(consent: ConsentRecord) -> Resource:
    document = consent.document
    scope_code, scope_display = CONSENT_SCOPE.get(document.procedure, ("treatment", "Treatment"))
    return _clean(
        {
            "resourceType": "Consent",
            "id": str(consent.pk),
            "status": "inactive" if consent.is_withdrawn else "active",
            "scope": hl7_concept("consentscope", scope_code, scope_display),
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
            "patient": patient_reference(consent.patient),
            "dateTime": instant(consent.given_at),
            "performer": [patient_reference(consent.patient)],
            "sourceAttachment": {
                "contentType": "text/plain; charset=utf-8",
                "title": f"{document.title} (version {document.version})",
                "data": base64.b64encode(document.body.encode()).decode(),
                "creation": day(document.effective_from),
            },
            "policyRule": concept(f"{document.get_procedure_display()} consent, version {document.version}"),
            "provision": {
                "type": "permit",
                "period": {"start": instant(consent.given_at), "end": instant(consent.withdrawn_at)},
            },
        }
    )
