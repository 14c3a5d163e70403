"""Every URL pattern with malformed path ids and query parameters, as each persona: no answer is
a server error.

The URLs come from test_permissions' PAGES (which fails for a pattern not in it), with the
arguments and queries it gives each page. The query parameters tried are the ones the page's
table row gives, the ones the site's GET forms and links send to that URL, and ``page``. Each
gets every value of values.NASTY as the first persona who may see the page, a few as each other
persona (those it refuses included: the refusal must not depend on them), then hypothesis draws
more; a repeated key is tried too.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhirapi.api import RESULT_PARAMS
from fhirapi.selectors import CATALOGUE
from tests.fuzz.harness import EXAMPLES, encode, path_with
from tests.fuzz.values import FEW, MALFORMED, NASTY, PATH_IDS, Value
from tests.test_permissions import FORBIDDEN, LOGIN, NOT_ALLOWED, PAGES, PERSONAS, UNAUTHORISED

pytestmark = pytest.mark.django_db
REFUSALS = (LOGIN, FORBIDDEN, NOT_ALLOWED, UNAUTHORISED)


def api_keys(name: str) -> set[str]:
    """The FHIR API's search parameters for a search URL: no page links to them."""
    if not (name.startswith("fhirapi:") and name.endswith("_search")):
        return set()
    resource_type = next(key for key in CATALOGUE if f"fhirapi:{key.lower()}_search" == name)
    return set(CATALOGUE[resource_type].search_params) | RESULT_PARAMS


# FHIR date searches take a comparison prefix.
API_DATES = [Value.of(v) for v in ("ge9999-12-31", "lt0001-01-01", "eq2026-02-30", "gt9999-12-31T23:59:59Z", "sa0001")]


def path_values(arg) -> list[Value]:
    # An int converter lets only digits through to the view: anything else is the resolver's 404.
    return PATH_IDS if isinstance(arg, int) else NASTY + PATH_IDS


@pytest.mark.parametrize("name", [name for name, page in PAGES.items() if page.get[1] != NOT_ALLOWED])
def test_no_url_answers_a_server_error(fuzz, name):
    page = PAGES[name]
    viewers = [persona for persona, status in zip(PERSONAS, page.get, strict=True) if status not in REFUSALS]
    refused = [persona for persona in PERSONAS if persona not in viewers]
    base = [(key, str(value)) for key, value in fuzz.queries[name].items()]
    path = fuzz.path(name)
    known_keys = set(fuzz.queries[name]) | fuzz.get_keys.get(name, set()) | api_keys(name)
    keys = sorted(known_keys | {"page"})
    thorough_values = NASTY + API_DATES if name.startswith("fhirapi:") else NASTY

    def send(persona, where, value, url):
        fuzz.request(persona, "get", url, name=name, where=where, value=value)

    def with_query(key: str, value: Value, repeat: bool = False) -> str:
        others = [(k, v) for k, v in base if k != key or repeat]
        return f"{path}?{encode([*others, (key, value)])}"

    # The first persona who may see the page gets every value; the others a few: what a view
    # makes of its input seldom depends on who asks, and the requests add up.
    for index, persona in enumerate(viewers + refused):
        thorough = index == 0
        for position, arg in enumerate(fuzz.args[name]):
            for value in path_values(arg) if thorough else FEW:
                if value.is_digits or not isinstance(arg, int):
                    send(persona, f"path arg {position}", value, path_with(fuzz, name, position, value))
        for key in keys:
            if key == "page" and key not in known_keys:
                # Every page is sent a page number: most ignore it, so a few values will do.
                values = FEW if thorough else []
            else:
                values = thorough_values if thorough else FEW
            for value in values:
                send(persona, f"?{key}", value, with_query(key, value))
            if values:
                send(persona, f"?{key} twice", FEW[1], with_query(key, FEW[1], repeat=True))

    targets = [f"?{key}" for key in keys] + [f"path arg {i}" for i in range(len(fuzz.args[name]))]

    @EXAMPLES
    @given(persona=st.sampled_from(viewers or refused), target=st.sampled_from(targets), value=MALFORMED)
    def more(persona, target, value):
        if target.startswith("?"):
            send(persona, target, value, with_query(target[1:], value))
        elif value.is_digits or not isinstance(fuzz.args[name][int(target.split()[-1])], int):
            send(persona, target, value, path_with(fuzz, name, int(target.split()[-1]), value))

    more()
    if fuzz.recorder.problems:
        pytest.fail("server errors:\n" + fuzz.recorder.report(), pytrace=False)
