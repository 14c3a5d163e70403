"""The FHIR R4 read API: /fhir/metadata, /fhir/<Type>?params, /fhir/<Type>/<id> and
/fhir/Patient/<id>/$everything. JSON only (application/fhir+json).

Every answer, refusals included, is a FHIR resource: an OperationOutcome says what was wrong
(400 a search parameter, 401 no or a bad token, 403 not allowed, 404 unknown, 405 not GET).
Only GET (and HEAD) is served, so a session cookie can never be used to change anything here
and CSRF does not arise; token callers send no cookies at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers

from fhirapi import selectors
from fhirapi.access import ApiRefusal, api_caller_for
from fhirapi.models import RESOURCE_TYPES
from fhirapi.resources import base_url
from fhirapi.search import BadParameter, count_value, offset_value
from patients.models import Patient

FHIR_JSON = "application/fhir+json; charset=utf-8"
FHIR_VERSION = "4.0.1"
# Parameters about the answer rather than the search.
RESULT_PARAMS = {"_count", "_offset", "_format"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json"}


def fhir_response(resource: dict, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(resource, ensure_ascii=False), status=status, content_type=FHIR_JSON)
    # Patient data: never kept by a browser or a proxy.
    patch_cache_control(response, no_store=True, private=True)
    patch_vary_headers(response, ("Authorization", "Cookie"))
    return response


def operation_outcome(status: int, code: str, message: str) -> HttpResponse:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message}],
    }
    response = fhir_response(outcome, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response


def fhir_view(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = operation_outcome(405, "not-supported", "This API only reads: use GET.")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            _check_format(request)
            return view(request, *args, **kwargs)
        except ApiRefusal as refusal:
            return operation_outcome(refusal.status, refusal.code, refusal.message)
        except BadParameter as error:
            return operation_outcome(400, "invalid", str(error))

    return wrapped


def _check_format(request: HttpRequest) -> None:
    for name, values in request.GET.lists():
        # PostgreSQL text cannot hold a NUL: such a value could match nothing, and is refused.
        if "\x00" in name or any("\x00" in value for value in values):
            raise BadParameter(f"{name.replace(chr(0), '')}: a value cannot contain a NUL character.")
    requested = request.GET.getlist("_format")
    if requested and requested[-1] not in JSON_FORMATS:
        raise BadParameter("_format: only JSON is served (json or application/fhir+json).")


def _query(request: HttpRequest) -> dict[str, list[str]]:
    return {name: request.GET.getlist(name) for name in request.GET if name not in RESULT_PARAMS}


def _full_url(resource: dict) -> str:
    return f"{base_url()}/fhir/{resource['resourceType']}/{resource['id']}"


def _not_found(resource_type: str, resource_id: str) -> ApiRefusal:
    return ApiRefusal(404, "not-found", f"{resource_type}/{resource_id} is not known.")


@fhir_view
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability_statement())


@fhir_view
def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    caller = api_caller_for(request)
    caller.require(resource_type)
    if set(request.GET) - {"_format"}:
        raise BadParameter("A read takes no parameters but _format.")
    source, obj = selectors.CATALOGUE[resource_type].get(resource_id)
    if obj is None:
        raise _not_found(resource_type, resource_id)
    caller.audit(what=f"{resource_type} read", patient=source.patient_of(obj), obj=obj)
    return fhir_response(source.build(obj))


@fhir_view
def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    caller = api_caller_for(request)
    caller.require(resource_type)
    count, offset = count_value(request.GET.getlist("_count")), offset_value(request.GET.getlist("_offset"))
    query = _query(request)
    kind = selectors.CATALOGUE[resource_type]
    total, page = kind.search(query, offset=offset, count=count)
    entries = []
    patients = {}
    for obj in page:
        source = next(source for source in kind.sources if isinstance(obj, source.queryset().model))
        resource = source.build(obj)
        entries.append({"fullUrl": _full_url(resource), "resource": resource, "search": {"mode": "match"}})
        patient = source.patient_of(obj)
        if patient is not None:
            patients[patient.pk] = patient
    patient = next(iter(patients.values())) if len(patients) == 1 else None
    caller.audit(what=f"{resource_type} search", patient=patient)
    links = [_link("self", resource_type, query, offset, count)]
    if offset + count < total:
        links.append(_link("next", resource_type, query, offset + count, count))
    if offset > 0:
        links.append(_link("previous", resource_type, query, max(offset - count, 0), count))
    return fhir_response(_bundle(entries, total=total, links=links))


def _link(relation: str, resource_type: str, query: dict, offset: int, count: int) -> dict:
    params = [(name, value) for name, values in query.items() for value in values]
    params += [("_count", count), ("_offset", offset)]
    return {"relation": relation, "url": f"{base_url()}/fhir/{resource_type}?{urlencode(params)}"}


def _bundle(entries: list[dict], *, total: int, links: list[dict] | None = None) -> dict:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timezone.now().isoformat(timespec="seconds"),
        "total": total,
    }
    if links:
        bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def everything_bundle(patient: Patient, resource_types: list[str]) -> dict:
    found = selectors.everything_for(patient, resource_types)
    entries = [
        {"fullUrl": _full_url(resource), "resource": resource, "search": {"mode": "match" if index == 0 else "include"}}
        for index, resource in enumerate(found)
    ]
    return _bundle(entries, total=1)


@fhir_view
def everything(request: HttpRequest, resource_id: str) -> HttpResponse:
    caller = api_caller_for(request)
    caller.require("Patient")
    if set(request.GET) - {"_format"}:
        raise BadParameter("$everything takes no parameters but _format.")
    _source, patient = selectors.CATALOGUE["Patient"].get(resource_id)
    if patient is None:
        raise _not_found("Patient", resource_id)
    caller.audit(what="Patient $everything", patient=patient, obj=patient)
    return fhir_response(everything_bundle(patient, caller.readable_types()))


@fhir_view
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    raise ApiRefusal(
        404,
        "not-found",
        f"'{rest}' is not served here. Resource types: {', '.join(RESOURCE_TYPES)}; see /fhir/metadata.",
    )


def capability_statement() -> dict:
    resources = []
    for name in RESOURCE_TYPES:
        kind = selectors.CATALOGUE[name]
        entry = {
            "type": name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": param, "type": param_type} for param, param_type in sorted(kind.search_params.items())
            ],
        }
        if name == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().isoformat(timespec="seconds"),
        "kind": "instance",
        "software": {"name": "Clinic patient management"},
        "implementation": {"description": "The clinic's read-only FHIR API", "url": f"{base_url()}/fhir"},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Authenticate with 'Authorization: Bearer <token>' (a manager creates tokens "
                    "with scopes patient/*.read or patient/<Type>.read) or a staff session. Unknown search "
                    "parameters are refused with 400. Paging: _count (1-200) and _offset."
                ),
                "security": {
                    "cors": False,
                    "description": "Bearer tokens that the clinic's managers create and revoke; or a staff session.",
                },
                "resource": resources,
            }
        ],
    }
