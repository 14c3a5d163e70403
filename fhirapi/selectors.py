"""What each FHIR resource type is read from, and how its search parameters filter it.

A resource type has one or more sources (Procedure has two: previous treatments from the
medical history and signed treatment sessions). A source is a queryset, the resource builder,
how an id finds a row, and its search parameters as functions from the values to a Q.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from clinic import roles
from fhirapi import resources
from fhirapi.search import (
    BadParameter,
    boolean_value,
    date_filter,
    integer_id,
    reference_id,
    token_values,
)
from patients.models import ConsentRecord, HistoryItem, Patient
from scheduling.models import Appointment
from treatments.models import OutcomeRating, TreatmentPlan, TreatmentSession

NOTHING = Q(pk__in=[])
ParamFilter = Callable[[list[str]], Q]

# The FHIR codes of each status parameter; a code outside these is a bad parameter (400), a
# valid code the clinic never uses matches nothing.
APPOINTMENT_CODES = {
    "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error",
    "checked-in", "waitlist",
}  # fmt: skip
ALLERGY_CLINICAL_CODES = {"active", "inactive", "resolved"}
CONDITION_CLINICAL_CODES = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
MEDICATION_CODES = {
    "active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken",
}  # fmt: skip
PROCEDURE_CODES = {
    "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error", "unknown",
}  # fmt: skip
CONSENT_CODES = {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
CAREPLAN_CODES = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
OBSERVATION_CODES = {
    "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown",
}  # fmt: skip


def _inverse(mapping: dict) -> dict[str, list]:
    inverse: dict[str, list] = {}
    for model_value, code in mapping.items():
        inverse.setdefault(code, []).append(model_value)
    return inverse


def status_param(name: str, field_name: str, codes: set[str], mapping: dict) -> ParamFilter:
    model_values = _inverse(mapping)

    def parse(values: list[str]) -> Q:
        chosen = token_values(values, name, codes)
        matching = [value for code in chosen for value in model_values.get(code, [])]
        return Q(**{f"{field_name}__in": matching}) if matching else NOTHING

    return parse


def constant_param(name: str, codes: set[str], value: str) -> ParamFilter:
    """A status every row of a source has (a signed session is always 'completed')."""

    def parse(values: list[str]) -> Q:
        return Q() if value in token_values(values, name, codes) else NOTHING

    return parse


def patient_param(field_name: str) -> ParamFilter:
    def parse(values: list[str]) -> Q:
        condition = Q()
        for value in values:
            pk = integer_id(reference_id(value, "patient", "Patient"))
            condition &= Q(**{field_name: pk}) if pk is not None else NOTHING
        return condition

    return parse


def date_param(field_name: str, *, is_date: bool = False) -> ParamFilter:
    return lambda values: date_filter(values, field_name, is_date=is_date)


def id_param(to_q: Callable[[str], Q | None]) -> ParamFilter:
    def parse(values: list[str]) -> Q:
        condition = Q()
        for value in values:
            ids = token_values([value], "_id")
            either = Q()
            for one in ids:
                either |= to_q(one) or NOTHING
            condition &= either
        return condition

    return parse


def string_param(*field_names: str) -> ParamFilter:
    """FHIR string search: starts with, ignoring case, in any of the fields."""

    def parse(values: list[str]) -> Q:
        condition = Q()
        for value in values:
            either = Q()
            for part in value.split(","):
                if not part.strip():
                    raise BadParameter("A name search needs some text.")
                for field_name in field_names:
                    either |= Q(**{f"{field_name}__istartswith": part.strip()})
            condition &= either
        return condition

    return parse


def exact_param(field_name: str, *, lower: bool = False) -> ParamFilter:
    def parse(values: list[str]) -> Q:
        condition = Q()
        for value in values:
            codes = token_values([value], field_name)
            condition &= Q(**{f"{field_name}__in": [code.lower() if lower else code for code in codes]})
        return condition

    return parse


def _int_q(value: str) -> Q | None:
    pk = integer_id(value)
    return Q(pk=pk) if pk is not None else None


def _lineage_q(value: str) -> Q | None:
    import uuid

    try:
        return Q(lineage=uuid.UUID(value))
    except ValueError:
        return None


def _session_q(value: str) -> Q | None:
    if not value.startswith(resources.SESSION_ID_PREFIX):
        return None
    return _int_q(value.removeprefix(resources.SESSION_ID_PREFIX))


@dataclass(frozen=True)
class Source:
    queryset: Callable[[], QuerySet]
    build: Callable[[object], dict]
    id_q: Callable[[str], Q | None]
    params: dict[str, ParamFilter]
    patient_of: Callable[[object], Patient | None] = lambda obj: None

    def filtered(self, query: dict[str, list[str]]) -> QuerySet:
        condition = Q()
        for name, values in query.items():
            param = self.params.get(name)
            # A parameter another source of the same type knows, this one cannot match.
            condition &= param(values) if param else NOTHING
        return self.queryset().filter(condition)

    def get(self, resource_id: str):
        condition = self.id_q(resource_id)
        if condition is None:
            return None
        return self.queryset().filter(condition).first()


@dataclass(frozen=True)
class ResourceType:
    name: str
    sources: tuple[Source, ...]
    search_params: dict[str, str] = field(default_factory=dict)  # name -> FHIR type (CapabilityStatement)

    def check_params(self, query: dict[str, list[str]]) -> None:
        """Every parameter named must be one of this type's; their values are parsed here too."""
        for name, values in query.items():
            if name not in self.search_params:
                known = ", ".join(sorted(self.search_params))
                raise BadParameter(f"{self.name} has no search parameter '{name}'. Known: {known}.")
            for source in self.sources:
                if name in source.params:
                    source.params[name](values)

    def search(self, query: dict[str, list[str]], *, offset: int, count: int) -> tuple[int, list]:
        self.check_params(query)
        total, page, skip = 0, [], offset
        for source in self.sources:
            queryset = source.filtered(query)
            size = queryset.count()
            total += size
            if len(page) < count and skip < size:
                page.extend(queryset[skip : skip + count - len(page)])
            skip = max(skip - size, 0)
        return total, page

    def get(self, resource_id: str) -> tuple[Source | None, object | None]:
        for source in self.sources:
            obj = source.get(resource_id)
            if obj is not None:
                return source, obj
        return None, None


# Querysets -------------------------------------------------------------------------------


def practitioner_users() -> QuerySet:
    """Staff who treat: doctors, and anyone with a calendar."""
    User = get_user_model()
    return (
        User.objects.filter(Q(groups__name=roles.DOCTOR) | Q(practitioner__isnull=False))
        .select_related("practitioner")
        .distinct()
        .order_by("last_name", "first_name", "id")
    )


def appointments() -> QuerySet:
    return Appointment.objects.select_related("patient", "practitioner__user", "room", "appointment_type").order_by(
        "-starts_at", "-id"
    )


def history_items(category: str) -> Callable[[], QuerySet]:
    return lambda: (
        HistoryItem.objects.current()
        .filter(category=category)
        .select_related("patient", "recorded_by")
        .order_by("-recorded_at", "-id")
    )


def signed_sessions() -> QuerySet:
    return (
        TreatmentSession.objects.filter(status=TreatmentSession.Status.SIGNED)
        .select_related("patient", "plan", "doctor")
        .prefetch_related("batch_usages__batch__product", "addenda__author")
        .order_by("-performed_at", "-id")
    )


def ratings() -> QuerySet:
    return (
        OutcomeRating.objects.filter(session__status=TreatmentSession.Status.SIGNED)
        .select_related("session__patient", "recorded_by")
        .order_by("-session__performed_at", "rater", "id")
    )


def consents() -> QuerySet:
    return ConsentRecord.objects.select_related("patient", "document").order_by("-given_at", "-id")


def plans() -> QuerySet:
    return (
        TreatmentPlan.objects.select_related("patient", "doctor")
        .prefetch_related(
            Prefetch("sessions", queryset=TreatmentSession.objects.order_by("number")), "plan_products__product"
        )
        .order_by("-created_at", "-id")
    )


def patients() -> QuerySet:
    return Patient.objects.order_by("last_name", "first_name", "id")


# The catalogue ---------------------------------------------------------------------------


def _patient_identifier(values: list[str]) -> Q:
    condition = Q()
    for value in values:
        either = Q()
        for part in value.split(","):
            system, _, number = part.rpartition("|")
            if "|" in part and system and system != resources.patient_identifier_system():
                continue  # another system's identifier: matches nothing here
            pk = integer_id(number)
            if pk is not None:
                either |= Q(pk=pk)
        condition &= either if either else NOTHING
    return condition


def _active(values: list[str]) -> Q:
    return Q(archived_at__isnull=boolean_value(values, "active"))


def _history_source(category: str, params: dict[str, ParamFilter]) -> Source:
    return Source(
        queryset=history_items(category),
        build=resources.history_resource,
        id_q=_lineage_q,
        params={"_id": id_param(_lineage_q), "patient": patient_param("patient"), **params},
        patient_of=lambda item: item.patient,
    )


def _catalogue() -> dict[str, ResourceType]:
    history_status = HistoryItem.Status
    clinical_status = {history_status.CURRENT: "active", history_status.PAST: "inactive"}
    types = [
        ResourceType(
            "Patient",
            (
                Source(
                    queryset=patients,
                    build=resources.patient_resource,
                    id_q=_int_q,
                    params={
                        "_id": id_param(_int_q),
                        "identifier": _patient_identifier,
                        "name": string_param("first_name", "last_name"),
                        "family": string_param("last_name"),
                        "given": string_param("first_name"),
                        "birthdate": date_param("date_of_birth", is_date=True),
                        "email": exact_param("email", lower=True),
                        "phone": exact_param("phone"),
                        "active": _active,
                    },
                    patient_of=lambda patient: patient,
                ),
            ),
            {
                "_id": "token",
                "identifier": "token",
                "name": "string",
                "family": "string",
                "given": "string",
                "birthdate": "date",
                "email": "token",
                "phone": "token",
                "active": "token",
            },
        ),
        ResourceType(
            "Practitioner",
            (
                Source(
                    queryset=practitioner_users,
                    build=resources.practitioner_resource,
                    id_q=_int_q,
                    params={"_id": id_param(_int_q), "name": string_param("first_name", "last_name")},
                ),
            ),
            {"_id": "token", "name": "string"},
        ),
        ResourceType(
            "Appointment",
            (
                Source(
                    queryset=appointments,
                    build=resources.appointment_resource,
                    id_q=_int_q,
                    params={
                        "_id": id_param(_int_q),
                        "patient": patient_param("patient"),
                        "date": date_param("starts_at"),
                        "status": status_param("status", "status", APPOINTMENT_CODES, resources.APPOINTMENT_STATUS),
                        "practitioner": _practitioner_param,
                    },
                    patient_of=lambda appointment: appointment.patient,
                ),
            ),
            {"_id": "token", "patient": "reference", "date": "date", "status": "token", "practitioner": "reference"},
        ),
        ResourceType(
            "AllergyIntolerance",
            (
                _history_source(
                    HistoryItem.Category.ALLERGY,
                    {
                        "clinical-status": status_param(
                            "clinical-status", "status", ALLERGY_CLINICAL_CODES, clinical_status
                        ),
                        "date": date_param("recorded_at"),
                    },
                ),
            ),
            {"_id": "token", "patient": "reference", "clinical-status": "token", "date": "date"},
        ),
        ResourceType(
            "Condition",
            (
                _history_source(
                    HistoryItem.Category.CONDITION,
                    {
                        "clinical-status": status_param(
                            "clinical-status", "status", CONDITION_CLINICAL_CODES, clinical_status
                        ),
                        "onset-date": date_param("started_on", is_date=True),
                        "recorded-date": date_param("recorded_at"),
                    },
                ),
            ),
            {
                "_id": "token",
                "patient": "reference",
                "clinical-status": "token",
                "onset-date": "date",
                "recorded-date": "date",
            },
        ),
        ResourceType(
            "MedicationStatement",
            (
                _history_source(
                    HistoryItem.Category.MEDICATION,
                    {
                        "status": status_param("status", "status", MEDICATION_CODES, resources.MEDICATION_STATUS),
                        "effective": date_param("started_on", is_date=True),
                    },
                ),
            ),
            {"_id": "token", "patient": "reference", "status": "token", "effective": "date"},
        ),
        ResourceType(
            "Procedure",
            (
                _history_source(
                    HistoryItem.Category.PREVIOUS_TREATMENT,
                    {
                        "status": status_param(
                            "status",
                            "status",
                            PROCEDURE_CODES,
                            {
                                history_status.CURRENT: "completed",
                                history_status.PAST: "completed",
                                history_status.ENTERED_IN_ERROR: "entered-in-error",
                            },
                        ),
                        "date": date_param("started_on", is_date=True),
                    },
                ),
                Source(
                    queryset=signed_sessions,
                    build=resources.session_resource,
                    id_q=_session_q,
                    params={
                        "_id": id_param(_session_q),
                        "patient": patient_param("patient"),
                        "status": constant_param("status", PROCEDURE_CODES, "completed"),
                        "date": date_param("performed_at"),
                    },
                    patient_of=lambda session: session.patient,
                ),
            ),
            {"_id": "token", "patient": "reference", "status": "token", "date": "date"},
        ),
        ResourceType(
            "Observation",
            (
                Source(
                    queryset=ratings,
                    build=resources.rating_resource,
                    id_q=_int_q,
                    params={
                        "_id": id_param(_int_q),
                        "patient": patient_param("session__patient"),
                        "status": constant_param("status", OBSERVATION_CODES, "final"),
                        "date": date_param("session__performed_at"),
                    },
                    patient_of=lambda rating: rating.session.patient,
                ),
            ),
            {"_id": "token", "patient": "reference", "status": "token", "date": "date"},
        ),
        ResourceType(
            "Consent",
            (
                Source(
                    queryset=consents,
                    build=resources.consent_resource,
                    id_q=_int_q,
                    params={
                        "_id": id_param(_int_q),
                        "patient": patient_param("patient"),
                        "status": _consent_status,
                        "date": date_param("given_at"),
                    },
                    patient_of=lambda consent: consent.patient,
                ),
            ),
            {"_id": "token", "patient": "reference", "status": "token", "date": "date"},
        ),
        ResourceType(
            "CarePlan",
            (
                Source(
                    queryset=plans,
                    build=resources.careplan_resource,
                    id_q=_int_q,
                    params={
                        "_id": id_param(_int_q),
                        "patient": patient_param("patient"),
                        "status": status_param("status", "status", CAREPLAN_CODES, resources.CAREPLAN_STATUS),
                        "date": date_param("starts_on", is_date=True),
                    },
                    patient_of=lambda plan: plan.patient,
                ),
            ),
            {"_id": "token", "patient": "reference", "status": "token", "date": "date"},
        ),
    ]
    return {resource_type.name: resource_type for resource_type in types}


def _practitioner_param(values: list[str]) -> Q:
    condition = Q()
    for value in values:
        pk = integer_id(reference_id(value, "practitioner", "Practitioner"))
        condition &= Q(practitioner__user_id=pk) if pk is not None else NOTHING
    return condition


def _consent_status(values: list[str]) -> Q:
    either = NOTHING
    for code in token_values(values, "status", CONSENT_CODES):
        if code == "active":
            either |= Q(withdrawn_at__isnull=True)
        elif code == "inactive":
            either |= Q(withdrawn_at__isnull=False)
    return either


CATALOGUE: dict[str, ResourceType] = _catalogue()


def everything_for(patient: Patient, resource_types: Iterable[str]) -> list[dict]:
    """Every resource about ``patient`` of the given types, the patient first, then the
    practitioners the others refer to."""
    wanted = set(resource_types)
    found: list[dict] = [resources.patient_resource(patient)]
    for name, resource_type in CATALOGUE.items():
        if name in {"Patient", "Practitioner"} or name not in wanted:
            continue
        for source in resource_type.sources:
            found.extend(source.build(obj) for obj in source.filtered({"patient": [str(patient.pk)]}))
    if "Practitioner" in wanted:
        ids = sorted(_practitioner_ids(found))
        found.extend(resources.practitioner_resource(user) for user in practitioner_users().filter(pk__in=ids))
    return found


def _practitioner_ids(found: list) -> set[int]:
    ids: set[int] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and ref.startswith("Practitioner/"):
                ids.add(int(ref.removeprefix("Practitioner/")))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(found)
    return ids
