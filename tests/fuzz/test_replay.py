"""The concrete requests issue 18 reported as server errors, replayed: each answers below 500,
and a refused POST (anything but a redirect) changes no row.

POSTs start from the form the page shows (as harness.Site found it), with one field changed or
left out; GETs from the page's own arguments and query (test_permissions' PAGES).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scheduling.models import AppointmentType
from tests.fuzz.harness import Value, encode, filled

pytestmark = pytest.mark.django_db

CONTROL = "\x00\x1b\r\n\x7f"
EMOJI = "😀/..//évil"
INVALID_UTF8 = Value(b"\xff\xfe/\xed\xa0\x80")
HUGE_ID = "9" * 100_000
FAR = ("9999-12-31", "0001-01-01")


@dataclass(frozen=True)
class Case:
    url: str
    persona: str
    changes: tuple  # (field or query key, value); value None leaves the field out
    method: str = "get"
    args: tuple | None = None  # path arguments instead of the page's own

    def __str__(self) -> str:
        shown = ",".join(f"{key}={str(value)[:16]!r}" for key, value in self.changes)
        return f"{self.method} {self.url} [{shown}]"


def v(text) -> Value:
    return text if isinstance(text, Value) else Value.of(text)


CASES = [
    # Areas left empty on the plan and session forms.
    *(Case(url, "doctor", (("areas", None),), "post") for url in ("treatments:plan_create", "treatments:plan_edit")),
    *(Case(url, "doctor", (("areas", None),), "post") for url in ("treatments:session_create",)),
    *(Case(url, "doctor", (("areas", ""),), "post") for url in ("treatments:plan_create", "treatments:session_create")),
    # next= that is no address: check-in and message retry.
    *(
        Case(url, persona, (("next", value),), "post")
        for url, persona in (("scheduling:appointment_check_in", "receptionist"), ("messaging:retry", "manager"))
        for value in (CONTROL, EMOJI, INVALID_UTF8, "//evil.example/", "x" * 100_000)
    ),
    # Far dates on the calendars, the slot finder, moving, course booking, booking, audit and
    # the Communications filters.
    *(Case(url, "doctor", (("date", day),)) for url in ("scheduling:day", "scheduling:week") for day in FAR),
    *(Case("scheduling:rooms", "doctor", (("date", day),)) for day in FAR),
    *(
        Case("scheduling:find", "doctor", (("date_from", day), ("date_to", day), ("appointment_type", "type")))
        for day in FAR
    ),
    *(Case("scheduling:appointment_move", "receptionist", (("day", day),), "post") for day in FAR),
    *(
        Case("scheduling:appointment_move", "receptionist", (("start", f"{day}T23:30:00+00:00"),), "post")
        for day in FAR
    ),
    *(Case("scheduling:course_book", "receptionist", (("first_day", day),), "post") for day in FAR),
    *(Case("scheduling:book", "receptionist", (("start", f"{day}T23:59:00+00:00"),)) for day in FAR),
    *(Case("scheduling:book", "receptionist", (("start", f"{day}T23:59:00+00:00"),), "post") for day in FAR),
    *(Case("audit_list", "manager", ((key, day),)) for key in ("date_from", "date_to") for day in FAR),
    *(Case("messaging:communications", "manager", (("day", day),)) for day in FAR),
    # Ids that are no number, or one of 100,000 digits.
    *(
        Case("treatments:plan_safety_preview", "doctor", (("product_1", value),))
        for value in ("abc", HUGE_ID, str(2**63), "²")
    ),
    *(
        Case("treatments:photo_compare", "doctor", ((side, value),))
        for side in ("before", "after")
        for value in ("abc", HUGE_ID, str(2**63))
    ),
    *(
        Case("scheduling:find", "doctor", ((key, value),))
        for key in ("patient", "practitioner", "appointment_type")
        for value in ("abc", HUGE_ID, str(2**63))
    ),
    *(
        Case("scheduling:course_book", "receptionist", ((key, value),), "post")
        for key in ("practitioner", "appointment_type", "session_1")
        for value in ("abc", HUGE_ID, f"{HUGE_ID}@2030-01-14T10:00:00+00:00", f"1@{FAR[0]}T10:00:00+00:00")
    ),
    *(Case("scheduling:feed", "anonymous", (), args=(token,)) for token in ("abc\x00", HUGE_ID, "😀", "%")),
    # Found by the fuzz tests: a clinical page refused for an id past a bigint (the refusal's
    # audit entry), a 100,000-character username at login (the failure count), FHIR search
    # parameters with a NUL or a count of 5,000 digits.
    *(Case(url, "receptionist", (), args=(2**63,)) for url in ("patients:medical_history", "treatments:timeline")),
    Case("login", "anonymous", (("username", "x" * 100_000), ("password", "x")), "post"),
    *(
        Case("fhirapi:patient_search", "doctor", ((key, value),))
        for key, value in (("name", "a\x00b"), ("_count", "9" * 5000), ("_offset", "²"), ("_id", "²"))
    ),
]


def resolved(fuzz, value):
    if value == "type":  # an appointment type's id, known once the world is made
        return str(AppointmentType.objects.filter(is_active=True).order_by("pk").first().pk)
    return value


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reported_request_answers_below_500(fuzz, case):
    args = list(case.args) if case.args is not None else None
    path = fuzz.path(case.url, args)
    changes = {key: None if value is None else v(resolved(fuzz, value)) for key, value in case.changes}
    where = ",".join(changes) or "path"
    value = next((value for value in changes.values() if value is not None), Value.of(str(case.args)))
    if case.method == "get":
        query = [(key, str(value)) for key, value in fuzz.queries[case.url].items() if key not in changes]
        query += [(key, value) for key, value in changes.items() if value is not None]
        response = fuzz.request(case.persona, "get", f"{path}?{encode(query)}", name=case.url, where=where, value=value)
    else:
        forms = [form for persona, form in fuzz.post_forms.get(case.url, []) if persona == case.persona]
        fields = filled(forms[0]) if forms else [("next", "/")]
        action = forms[0].action if forms else path
        fields = [(key, value) for key, value in fields if key not in changes]
        fields += [(key, value) for key, value in changes.items() if value is not None]
        response = fuzz.request(
            case.persona,
            "post",
            action,
            name=case.url,
            where=where,
            value=value,
            body=encode(fields),
            refused_writes_nothing=True,
        )
    if fuzz.recorder.problems:
        pytest.fail(fuzz.recorder.report(), pytrace=False)
    assert response.status_code < 500
