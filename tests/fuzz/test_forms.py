"""Every form with malformed values, one field at a time, as each persona: no answer is a server
error, and a refused answer (a 4xx, or the form shown again with its errors) writes no row.

The forms are the ones the site's pages show (harness.Site finds them), sent to each URL of
test_permissions' PAGES that takes a POST. The other fields keep the values the page gave
them (an empty one gets a plausible value), so the malformed field is the odd one out. Each
field is also left out and sent twice. A URL whose form no page shows here is sent its query
and a few usual fields. Personas the URL refuses send every field malformed at once: a refusal
must hold whatever the body says.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import EXAMPLES, Form, encode, filled, multipart, path_with
from tests.fuzz.values import DATES, FEW, MALFORMED, NUMBERS, PATH_IDS, TEXT, Value
from tests.test_permissions import FORBIDDEN, LOGIN, PAGES, PERSONAS, POST_DATA

pytestmark = pytest.mark.django_db

# Per kind of input, the values that can reach a different line of code: every field gets the
# text values, ids and choices the numbers, date and time inputs the dates. Hidden inputs and
# plain text may be parsed as anything, so they get all.
NUMERIC = NUMBERS[:6] + NUMBERS[-1:]
BY_KIND = {
    "date": TEXT + DATES + NUMERIC[:2],
    "time": TEXT + DATES + NUMERIC[:2],
    "datetime-local": TEXT + DATES + NUMERIC[:2],
    "number": TEXT + NUMBERS,
    "select": TEXT + NUMBERS,
    "radio": TEXT + NUMBERS,
    "checkbox": TEXT + NUMERIC,
    "textarea": TEXT + NUMERIC[:2],
    "password": TEXT,
    "email": TEXT,
    "file": [
        Value.of(""),
        Value.of("x" * 100_000),
        Value(b"GIF89a\x00\xff"),
        Value(b"first name,last name,date of birth\n\xff\xfe,a\x00b,9999-99-99\n"),
        Value.of("first name,last name,date of birth\n" + "Zo\u00eb,N,2026-02-30\n" * 3),
        Value.of("\ufefffirst name;last name\r\n\x00;\n"),
    ],
}
ALL = TEXT + NUMBERS + DATES
LONG_FORM = 30  # fields
REFUSED = (LOGIN, FORBIDDEN)


def forms_for(fuzz, name: str, senders: list[str]) -> list[tuple[str, Form]]:
    """One form per distinct set of fields sent to ``name`` by a persona in ``senders``."""
    found: dict[tuple, tuple[str, Form]] = {}
    for persona, form in fuzz.post_forms.get(name, []):
        if persona in senders:
            found.setdefault(tuple(sorted(form.names)), (persona, form))
    if found or not senders:
        return list(found.values())
    # No page shows this URL's form here: its query, the usual fields and a next address.
    query = [(key, str(value)) for key, value in fuzz.queries[name].items()]
    fields = [*query, *POST_DATA.items(), ("next", "/")]
    return [(senders[0], Form("post", fuzz.path(name), multipart=False, fields=fields))]


def replaced(fields: list[tuple[str, str]], name: str, value: Value | None, repeat: bool = False):
    kept = [(key, old) for key, old in fields if key != name or repeat]
    return kept if value is None else [*kept, (name, value)]


@pytest.mark.parametrize("name", [name for name, page in PAGES.items() if page.post is not None])
def test_no_form_answers_a_server_error_nor_writes_when_refused(fuzz, name):
    answers = dict(zip(PERSONAS, PAGES[name].post_answers(), strict=True))
    senders = [persona for persona, answer in answers.items() if answer not in REFUSED]
    refused = [persona for persona, answer in answers.items() if answer in REFUSED]
    for persona, form in forms_for(fuzz, name, senders) or forms_for(fuzz, name, refused[:1]):
        fuzz_form(fuzz, name, persona, form, refused)
    if fuzz.recorder.problems:
        pytest.fail("server errors or refused writes:\n" + fuzz.recorder.report(), pytrace=False)


def fuzz_form(fuzz, name: str, persona: str, form: Form, refused: list[str]) -> None:
    base = filled(form)

    def send(persona, where, value, fields, action=form.action):
        if form.multipart:
            body = multipart(fields, form.kinds)
            if body is None:
                return
        else:
            body = encode(fields)
        fuzz.request(
            persona, "post", action, name=name, where=where, value=value, body=body, refused_writes_nothing=True
        )

    send(persona, "(as shown)", Value(b""), base)
    # A long form (the patient's questionnaire) repeats a few kinds of field many times: the
    # first of each kind gets every value, the others a few.
    first_of_kind = {}
    for field in form.names:
        first_of_kind.setdefault(form.kinds.get(field, "text"), field)
    thorough = set(form.names) if len(form.names) <= LONG_FORM else set(first_of_kind.values())
    for field in form.names:
        values = BY_KIND.get(form.kinds.get(field, "text"), ALL) if field in thorough else FEW
        for value in values:
            send(persona, field, value, replaced(base, field, value))
        if field in thorough:
            send(persona, f"{field} missing", Value(b""), replaced(base, field, None))
            send(persona, f"{field} twice", FEW[1], replaced(base, field, FEW[1], repeat=True))
    for position, arg in enumerate(fuzz.args[name]):
        for value in PATH_IDS if isinstance(arg, int) else FEW + PATH_IDS:
            send(persona, f"path arg {position}", value, base, action=path_with(fuzz, name, position, value))

    if form.names:

        @EXAMPLES
        @given(field=st.sampled_from(form.names), value=MALFORMED)
        def more(field, value):
            send(persona, field, value, replaced(base, field, value))

        more()

    for other in refused:
        send(other, "(as shown)", Value(b""), base)
        for value in FEW:
            send(other, "every field", value, [(key, value) for key, _ in base])
