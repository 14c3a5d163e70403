"""The FHIR read API: every resource it produces validates (fhir.resources, R4B models), the
mapping says what the records say, searches filter, bad input is a 400 OperationOutcome,
access follows the role or the token's scopes, and every read is audited."""

from __future__ import annotations

import base64
import datetime

import pytest
from django.urls import reverse

from clinic.models import AuditEntry
from fhirapi.models import ALL_SCOPE, RESOURCE_TYPES, scope_for
from fhirapi.resources import patient_identifier_system
from fhirapi.search import parse_period
from fhirapi.services import api_token_revoke
from patients.models import ConsentRecord
from tests.factories import PatientFactory
from tests.fhirapi.conftest import fhir_get, validate
from tests.treatments.factories import SignedSessionFactory

pytestmark = pytest.mark.django_db


def search_path(resource_type: str) -> str:
    return reverse(f"fhirapi:{resource_type.lower()}_search")


def read_path(resource_type: str, resource_id) -> str:
    return reverse(f"fhirapi:{resource_type.lower()}_read", args=[str(resource_id)])


def everything_path(patient_id) -> str:
    return reverse("fhirapi:patient_everything", args=[str(patient_id)])


def ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def resource_ids(record) -> dict[str, list[str]]:
    """What a search by patient must return for each type (current versions, signed sessions)."""
    return {
        "Patient": [str(record.patient.pk)],
        "Appointment": [str(record.appointment.pk)],
        "AllergyIntolerance": [str(record.allergy.lineage)],
        "Condition": sorted([str(record.condition.lineage), str(record.error_condition.lineage)]),
        "MedicationStatement": [str(record.medication.lineage)],
        "Procedure": sorted([str(record.previous_treatment.lineage), f"session-{record.session.pk}"]),
        "Observation": sorted([str(record.doctor_rating.pk), str(record.patient_rating.pk)]),
        # Every consent on file: the two of the record, and those its factories sign with the course.
        "Consent": sorted(
            str(pk) for pk in ConsentRecord.objects.filter(patient=record.patient).values_list("pk", flat=True)
        ),
        "CarePlan": [str(record.plan.pk)],
    }


# Every resource type, validated ---------------------------------------------------------


def test_every_resource_type_searched_and_read_validates(client, doctor, record):
    client.force_login(doctor)
    for resource_type, expected in resource_ids(record).items():
        query = (
            {"_id": record.patient.pk} if resource_type == "Patient" else {"patient": f"Patient/{record.patient.pk}"}
        )
        bundle = fhir_get(client, search_path(resource_type), query)
        assert bundle["type"] == "searchset"
        assert bundle["total"] == len(expected), resource_type
        assert sorted(ids(bundle)) == expected, resource_type
        for resource_id in expected:
            resource = fhir_get(client, read_path(resource_type, resource_id))
            assert resource["resourceType"] == resource_type
            assert resource["id"] == resource_id
    practitioner = fhir_get(client, read_path("Practitioner", doctor.pk))
    assert practitioner["name"][0]["family"] == "Okafor"


def test_capability_statement_lists_every_type_and_validates(client):
    statement = fhir_get(client, reverse("fhirapi:metadata"))
    assert statement["fhirVersion"] == "4.0.1"
    served = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    assert set(served) == set(RESOURCE_TYPES)
    assert {"patient", "date", "status"} <= {param["name"] for param in served["Appointment"]["searchParam"]}
    assert served["Patient"]["operation"][0]["name"] == "everything"


# What the mapping says ------------------------------------------------------------------


def test_patient_resource_carries_the_demographics(client, doctor, record):
    client.force_login(doctor)
    patient = fhir_get(client, read_path("Patient", record.patient.pk))
    assert patient["identifier"] == [{"system": patient_identifier_system(), "value": str(record.patient.pk)}]
    assert patient["name"][0]["family"] == "Hart-Lewis"
    assert patient["name"][0]["given"] == ["Zoë"]
    assert patient["birthDate"] == "1985-04-02"
    assert patient["gender"] == "female"
    assert patient["active"] is True
    assert patient["address"][0]["postalCode"] == "BA1 1AA"
    assert patient["contact"][0]["name"]["text"] == "Sam Hart"


def test_session_procedure_lists_batches_as_contained_medications(client, doctor, record):
    client.force_login(doctor)
    procedure = fhir_get(client, read_path("Procedure", f"session-{record.session.pk}"))
    assert procedure["status"] == "completed"
    medication = procedure["contained"][0]
    assert medication["resourceType"] == "Medication"
    assert medication["batch"] == {"lotNumber": record.lot_number, "expirationDate": "2031-05-31"}
    assert procedure["usedReference"][0]["reference"] == f"#{medication['id']}"
    assert procedure["basedOn"] == [{"reference": f"CarePlan/{record.plan.pk}"}]
    assert procedure["performer"][0]["actor"]["reference"] == f"Practitioner/{doctor.pk}"
    notes = " ".join(note["text"] for note in procedure["note"])
    assert f"lot {record.lot_number}: 2.50 ml" in notes
    assert "Mild redness next day." in notes


def test_unsigned_sessions_and_their_ratings_are_not_served(client, doctor, record):
    client.force_login(doctor)
    fhir_get(client, read_path("Procedure", f"session-{record.draft_session.pk}"), status=404)
    bundle = fhir_get(client, search_path("Observation"), {"patient": record.patient.pk})
    assert bundle["total"] == 2


def test_history_entries_are_served_as_their_current_version(client, doctor, record):
    client.force_login(doctor)
    condition = fhir_get(client, read_path("Condition", record.condition.lineage))
    assert condition["meta"]["versionId"] == "2"
    assert condition["code"]["text"] == "Type 2 diabetes"
    assert condition["clinicalStatus"]["coding"][0]["code"] == "inactive"
    in_error = fhir_get(client, read_path("Condition", record.error_condition.lineage))
    assert in_error["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in in_error
    # An allergy's id is not a Condition.
    fhir_get(client, read_path("Condition", record.allergy.lineage), status=404)
    allergy = fhir_get(client, read_path("AllergyIntolerance", record.allergy.lineage))
    assert allergy["category"] == ["medication"]
    assert allergy["note"] == [{"text": "Rash"}]
    treatment = fhir_get(client, read_path("Procedure", record.previous_treatment.lineage))
    assert treatment["code"]["coding"][0]["code"] == "botulinum_toxin"


def test_ratings_consents_and_plans_map_their_states(client, doctor, record):
    client.force_login(doctor)
    rating = fhir_get(client, read_path("Observation", record.patient_rating.pk))
    assert rating["partOf"] == [{"reference": f"Procedure/session-{record.session.pk}"}]
    assert rating["performer"][0]["reference"] == f"Patient/{record.patient.pk}"
    assert {component["code"]["coding"][0]["code"]: component["valueInteger"] for component in rating["component"]} == {
        "hydration": 3,
        "radiance": 4,
        "fine_lines": 2,
        "satisfaction": 5,
    }
    withdrawn = fhir_get(client, read_path("Consent", record.withdrawn_consent.pk))
    assert withdrawn["status"] == "inactive"
    assert withdrawn["provision"]["period"]["end"]
    consent = fhir_get(client, read_path("Consent", record.consent.pk))
    assert consent["status"] == "active"
    assert base64.b64decode(consent["sourceAttachment"]["data"]).decode() == record.consent.document.body
    plan = fhir_get(client, read_path("CarePlan", record.plan.pk))
    assert plan["status"] == "active"
    assert len(plan["activity"]) == record.plan.session_count
    assert plan["activity"][0]["detail"]["status"] == "completed"
    assert plan["activity"][0]["outcomeReference"] == [{"reference": f"Procedure/session-{record.session.pk}"}]
    assert plan["activity"][1]["detail"]["status"] == "scheduled"


def test_appointment_names_its_patient_practitioner_and_room(client, doctor, record):
    client.force_login(doctor)
    appointment = fhir_get(client, read_path("Appointment", record.appointment.pk))
    assert appointment["status"] == "booked"
    actors = [participant["actor"] for participant in appointment["participant"]]
    assert actors[0]["reference"] == f"Patient/{record.patient.pk}"
    assert actors[1]["reference"] == f"Practitioner/{doctor.pk}"
    assert actors[2] == {"display": "Room 1"}
    assert appointment["start"] == "2030-01-07T12:30:00+00:00"


# $everything ----------------------------------------------------------------------------


def test_everything_holds_every_record_and_each_reference_resolves(client, doctor, record):
    client.force_login(doctor)
    bundle = fhir_get(client, everything_path(record.patient.pk))
    found = {(entry["resource"]["resourceType"], entry["resource"]["id"]) for entry in bundle["entry"]}
    for resource_type, expected in resource_ids(record).items():
        assert {resource_id for kind, resource_id in found if kind == resource_type} == set(expected), resource_type
    assert ("Practitioner", str(doctor.pk)) in found
    assert bundle["entry"][0]["resource"]["resourceType"] == "Patient"
    references = set()

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str) and not value["reference"].startswith("#"):
                references.add(tuple(value["reference"].split("/")))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(bundle)
    assert references <= found


def test_everything_as_a_receptionist_holds_desk_resources_only(client, receptionist, record):
    client.force_login(receptionist)
    bundle = fhir_get(client, everything_path(record.patient.pk))
    assert {entry["resource"]["resourceType"] for entry in bundle["entry"]} == {
        "Patient",
        "Appointment",
        "Practitioner",
    }


# Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("resource_type", ["Condition", "AllergyIntolerance", "Procedure", "Observation", "Consent"])
def test_receptionist_and_manager_sessions_cannot_read_clinical_resources(
    client, receptionist, manager, record, resource_type
):
    for user in (receptionist, manager):
        client.force_login(user)
        outcome = fhir_get(client, search_path(resource_type), {"patient": record.patient.pk}, status=403)
        assert "role" in outcome["issue"][0]["diagnostics"]
    assert not AuditEntry.objects.filter(object_type__startswith=f"FHIR {resource_type}").exists()


def test_receptionist_session_reads_desk_resources(client, receptionist, record):
    client.force_login(receptionist)
    assert fhir_get(client, search_path("Appointment"), {"patient": record.patient.pk})["total"] == 1
    fhir_get(client, read_path("Patient", record.patient.pk))
    fhir_get(client, search_path("Practitioner"))


def test_anonymous_gets_401_with_a_bearer_challenge(client, record):
    response = client.get(read_path("Patient", record.patient.pk))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_token_with_every_scope_reads_clinical_resources(client, record, issue_token, manager):
    issued = issue_token([ALL_SCOPE])
    bundle = fhir_get(client, everything_path(record.patient.pk), token=issued.secret)
    assert {"Condition", "Procedure", "Observation", "Consent", "CarePlan"} <= {
        entry["resource"]["resourceType"] for entry in bundle["entry"]
    }
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_narrow_token_reads_only_its_scopes(client, record, issue_token):
    issued = issue_token([scope_for("Patient"), scope_for("Condition")])
    fhir_get(client, read_path("Patient", record.patient.pk), token=issued.secret)
    fhir_get(client, read_path("Condition", record.condition.lineage), token=issued.secret)
    outcome = fhir_get(client, search_path("Appointment"), token=issued.secret, status=403)
    assert "scopes" in outcome["issue"][0]["diagnostics"]
    bundle = fhir_get(client, everything_path(record.patient.pk), token=issued.secret)
    assert {entry["resource"]["resourceType"] for entry in bundle["entry"]} == {"Patient", "Condition"}


def test_revoked_token_is_refused_at_once(client, record, issue_token, manager):
    issued = issue_token([ALL_SCOPE])
    fhir_get(client, read_path("Patient", record.patient.pk), token=issued.secret)
    api_token_revoke(token=issued.token, revoked_by=manager)
    outcome = fhir_get(client, read_path("Patient", record.patient.pk), token=issued.secret, status=401)
    assert "revoked" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer", "clk_abc"])
def test_bad_authorization_is_401_even_with_a_session(client, doctor, record, header):
    # A request with an Authorization header is judged by it alone, never by the cookie.
    client.force_login(doctor)
    response = client.get(read_path("Patient", record.patient.pk), headers={"Authorization": header})
    assert response.status_code == 401
    validate(response.json())


def test_only_get_is_served(client, doctor, record):
    client.force_login(doctor)
    for method in (client.post, client.put, client.delete):
        response = method(read_path("Patient", record.patient.pk))
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"
        validate(response.json())


# Audit ----------------------------------------------------------------------------------


def test_each_read_is_one_audit_entry_with_the_patient(client, doctor, record):
    client.force_login(doctor)
    before = AuditEntry.objects.count()
    fhir_get(client, read_path("Condition", record.condition.lineage))
    fhir_get(client, search_path("Procedure"), {"patient": record.patient.pk})
    fhir_get(client, everything_path(record.patient.pk))
    entries = list(AuditEntry.objects.order_by("-id")[:3])[::-1]
    assert AuditEntry.objects.count() == before + 3
    assert [entry.object_type for entry in entries] == [
        "FHIR Condition read",
        "FHIR Procedure search",
        "FHIR Patient $everything",
    ]
    assert all(entry.patient_id == record.patient.pk for entry in entries)
    assert all(entry.user == doctor and entry.action == AuditEntry.Action.VIEW for entry in entries)
    assert entries[0].object_id == str(record.condition.pk)


def test_a_search_across_patients_is_audited_without_a_patient(client, doctor, record):
    PatientFactory(last_name="Hartley")
    client.force_login(doctor)
    fhir_get(client, search_path("Patient"), {"family": "hart"})
    entry = AuditEntry.objects.latest("id")
    assert entry.object_type == "FHIR Patient search"
    assert entry.patient_id is None


def test_token_reads_are_audited_under_its_creator_and_name(client, record, issue_token, manager):
    issued = issue_token([ALL_SCOPE], name="Lab results system")
    fhir_get(client, read_path("Patient", record.patient.pk), token=issued.secret)
    entry = AuditEntry.objects.latest("id")
    assert entry.user == manager
    assert entry.patient_id == record.patient.pk
    assert entry.object_type == f"FHIR Patient read, token #{issued.token.pk} Lab results system"


def test_refused_and_failed_reads_write_no_view_entry(client, receptionist, doctor, record):
    views = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, outcome=AuditEntry.Outcome.ALLOWED)
    client.force_login(receptionist)
    before = views.count()
    fhir_get(client, read_path("Condition", record.condition.lineage), status=403)
    client.force_login(doctor)
    fhir_get(client, search_path("Appointment"), {"date": "tomorrow"}, status=400)
    fhir_get(client, read_path("Patient", 999999), status=404)
    assert views.count() == before, list(views.values_list("object_type", "user__username"))


# Search parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"date": "2030-01-07"}, True),
        ({"date": "2030-01"}, True),
        ({"date": "ge2030-01-07T12:30:00Z"}, True),
        ({"date": "gt2030-01-07T12:30:00+00:00"}, False),
        ({"date": "lt2030-01-07"}, False),
        ({"date": ["ge2030-01-01", "le2030-01-31"]}, True),
        ({"date": "ne2030"}, False),
        ({"status": "booked"}, True),
        ({"status": "cancelled,noshow"}, False),
        ({"status": "http://hl7.org/fhir/appointmentstatus|booked"}, True),
    ],
)
def test_appointment_search_by_date_and_status(client, doctor, record, query, matches):
    client.force_login(doctor)
    bundle = fhir_get(client, search_path("Appointment"), {"patient": record.patient.pk, **query})
    assert ids(bundle) == ([str(record.appointment.pk)] if matches else [])


def test_appointment_search_by_practitioner(client, doctor, other_doctor, record):
    client.force_login(doctor)
    assert fhir_get(client, search_path("Appointment"), {"practitioner": f"Practitioner/{doctor.pk}"})["total"] == 1
    assert fhir_get(client, search_path("Appointment"), {"practitioner": other_doctor.pk})["total"] == 0


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"identifier": "{system}|{pk}"}, True),
        ({"identifier": "{pk}"}, True),
        ({"identifier": "http://other.example/ids|{pk}"}, False),
        ({"name": "zo"}, True),
        ({"family": "hart-l"}, True),
        ({"given": "hart"}, False),
        ({"birthdate": "1985-04-02"}, True),
        ({"birthdate": "lt1985"}, False),
        ({"active": "true", "family": "hart"}, True),
        ({"active": "false", "family": "hart"}, False),
    ],
)
def test_patient_search_parameters(client, doctor, record, query, matches):
    PatientFactory(first_name="Other", last_name="Person", date_of_birth=datetime.date(1990, 1, 1))
    client.force_login(doctor)
    system, pk = patient_identifier_system(), record.patient.pk
    query = {name: value.format(system=system, pk=pk) for name, value in query.items()}
    bundle = fhir_get(client, search_path("Patient"), query)
    assert ids(bundle) == ([str(pk)] if matches else [])


def test_clinical_status_searches(client, doctor, record):
    client.force_login(doctor)
    patient = {"patient": record.patient.pk}
    inactive = fhir_get(client, search_path("Condition"), {**patient, "clinical-status": "inactive"})
    assert ids(inactive) == [str(record.condition.lineage)]
    assert fhir_get(client, search_path("Condition"), {**patient, "clinical-status": "active"})["total"] == 0
    assert ids(fhir_get(client, search_path("MedicationStatement"), {**patient, "status": "active"})) == [
        str(record.medication.lineage)
    ]
    assert ids(fhir_get(client, search_path("Consent"), {**patient, "status": "inactive"})) == [
        str(record.withdrawn_consent.pk)
    ]
    assert ids(fhir_get(client, search_path("CarePlan"), {**patient, "status": "active"})) == [str(record.plan.pk)]
    assert fhir_get(client, search_path("CarePlan"), {**patient, "status": "completed"})["total"] == 0


def test_procedure_search_spans_history_and_sessions(client, doctor, record):
    client.force_login(doctor)
    patient = {"patient": record.patient.pk}
    assert ids(fhir_get(client, search_path("Procedure"), {**patient, "date": "2028"})) == [
        str(record.previous_treatment.lineage)
    ]
    assert ids(fhir_get(client, search_path("Procedure"), {**patient, "date": "2030-01"})) == [
        f"session-{record.session.pk}"
    ]
    assert fhir_get(client, search_path("Procedure"), {**patient, "status": "entered-in-error"})["total"] == 0


def test_paging_with_count_and_offset(client, doctor, record):
    client.force_login(doctor)
    first = fhir_get(client, search_path("Procedure"), {"patient": record.patient.pk, "_count": 1})
    assert first["total"] == 2
    assert len(first["entry"]) == 1
    next_link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert "_offset=1" in next_link
    second = fhir_get(client, search_path("Procedure"), {"patient": record.patient.pk, "_count": 1, "_offset": 1})
    assert ids(first) != ids(second)
    assert not [link for link in second["link"] if link["relation"] == "next"]


@pytest.mark.parametrize(
    ("resource_type", "query", "message"),
    [
        ("Patient", {"colour": "blue"}, "no search parameter 'colour'"),
        ("Appointment", {"date": "2030-13-01"}, "not a date"),
        ("Appointment", {"date": "0000"}, "not a date"),
        ("Appointment", {"date": "9999-12-31"}, "out of range"),
        ("Appointment", {"date": "9999-12"}, "out of range"),
        ("Appointment", {"date": "9999-12-31T23:59:59Z"}, "out of range"),
        ("Appointment", {"date": "0001-01-01T00:00:00+05:00"}, "out of range"),
        ("Appointment", {"date": "xx2030"}, "not a supported date prefix"),
        ("Appointment", {"date": "2030-01-07T25:00Z"}, "not a date and time"),
        ("Appointment", {"date": "2030-01-07T10:00"}, "not a date"),
        ("Appointment", {"date": "2030,2031"}, "one value"),
        ("Appointment", {"date": ""}, "empty"),
        ("Appointment", {"status": "lost"}, "'lost' is not one of"),
        ("Appointment", {"patient": "Practitioner/1"}, "not a Patient reference"),
        ("Appointment", {"patient": "Patient/../1"}, "not a Patient reference"),
        ("Appointment", {"_count": "0"}, "_count"),
        ("Appointment", {"_count": "abc"}, "_count"),
        ("Appointment", {"_count": "500"}, "_count"),
        ("Appointment", {"_offset": "-1"}, "_offset"),
        ("Appointment", {"_format": "xml"}, "only JSON"),
        ("Patient", {"birthdate": "99999"}, "not a date"),
        ("Patient", {"active": "maybe"}, "true or false"),
        ("Patient", {"name": ""}, "needs some text"),
        ("Condition", {"clinical-status": ""}, "empty"),
        ("Observation", {"status": "done"}, "'done' is not one of"),
        ("Procedure", {"date": "2030-02-30"}, "not a date"),
    ],
)
def test_bad_search_parameters_are_400_operation_outcomes(client, doctor, record, resource_type, query, message):
    client.force_login(doctor)
    outcome = fhir_get(client, search_path(resource_type), query, status=400)
    assert outcome["issue"][0]["code"] == "invalid"
    assert message in outcome["issue"][0]["diagnostics"]


def test_read_with_search_parameters_is_400(client, doctor, record):
    client.force_login(doctor)
    fhir_get(client, read_path("Patient", record.patient.pk), {"name": "x"}, status=400)
    fhir_get(client, everything_path(record.patient.pk), {"start": "2030"}, status=400)


@pytest.mark.parametrize(
    ("path"),
    [
        "/fhir/Patient/999999",
        "/fhir/Patient/abc",
        "/fhir/Patient/99999999999999999999",
        "/fhir/Condition/not-a-uuid",
        "/fhir/Condition/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "/fhir/Procedure/session-999999",
        "/fhir/Procedure/session-x",
        "/fhir/Observation/999999",
        "/fhir/Practitioner/999999",
        "/fhir/Patient/999999/$everything",
        "/fhir/Basic",
        "/fhir/Patient/1/_history/1",
    ],
)
def test_unknown_ids_and_types_are_404_operation_outcomes(client, doctor, record, path):
    client.force_login(doctor)
    outcome = fhir_get(client, path, status=404)
    assert outcome["issue"][0]["code"] == "not-found"


def test_a_patient_reads_as_practitioner_only_if_they_treat(client, doctor, receptionist, record):
    client.force_login(doctor)
    fhir_get(client, read_path("Practitioner", receptionist.pk), status=404)


def test_everything_query_count_does_not_grow_with_the_record(client, doctor, record, django_assert_max_num_queries):
    client.force_login(doctor)
    with django_assert_max_num_queries(40) as captured:
        fhir_get(client, everything_path(record.patient.pk))
    baseline = len(captured.captured_queries)
    for number in (3, 4, 5):
        SignedSessionFactory(plan=record.plan, number=number, doctor=doctor)
    with django_assert_max_num_queries(baseline):
        bundle = fhir_get(client, everything_path(record.patient.pk))
    assert sum(entry["resource"]["id"].startswith("session-") for entry in bundle["entry"]) == 4


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2030-01-07T12:30+01:00", "2030-01-07T11:30:00+00:00", "2030-01-07T11:31:00+00:00"),
        ("2030-01-07T12:30:15Z", "2030-01-07T12:30:15+00:00", "2030-01-07T12:30:16+00:00"),
        ("2030-01-07T12:30:15.250-02:00", "2030-01-07T14:30:15+00:00", "2030-01-07T14:30:16+00:00"),
    ],
)
def test_an_instant_is_the_period_of_its_precision(value, start, end):
    period = parse_period(value)
    assert (period.start.isoformat(), period.end.isoformat()) == (
        datetime.datetime.fromisoformat(start).isoformat(),
        datetime.datetime.fromisoformat(end).isoformat(),
    )


def test_a_local_day_lasts_as_long_as_the_clocks_say():
    # 30 March 2031: the clocks go forward in London, the day has 23 hours.
    period = parse_period("2031-03-30")
    assert period.end - period.start == datetime.timedelta(hours=23)
