"""The fuzz tests' own checks catch what they are for: a crash, and a row written by a refused
request."""

import pytest
from django.db import transaction

from patients import selectors, views
from tests.factories import PatientFactory
from tests.fuzz.harness import encode, read_page
from tests.fuzz.values import Value

pytestmark = pytest.mark.django_db


def test_a_crash_is_recorded_with_the_project_line_it_came_from(fuzz, monkeypatch):
    def crash(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(selectors, "patient_search_page", crash)  # what the list view calls
    path = fuzz.path("patients:list") + "?q=x"
    response = fuzz.request("receptionist", "get", path, name="patients:list", where="?q", value=Value(b"x"))
    assert response is None
    (line,) = fuzz.recorder.report().splitlines()
    assert line.startswith("GET patients:list as receptionist [?q='x'] -> ValueError: 'boom' at patients/views.py:")
    fuzz.recorder.problems.clear()


def test_a_refused_request_that_writes_a_row_is_recorded(fuzz, monkeypatch):
    original = views.render

    def render_after_writing(*args, **kwargs):
        PatientFactory()
        return original(*args, **kwargs)

    monkeypatch.setattr(views, "render", render_after_writing)
    body = encode([("first_name", Value.of(""))])  # refused: the form is shown again with its errors
    fuzz.request(
        "receptionist", "post", "/patients/register/", name="patients:register", where="first_name",
        value=Value(b""), body=body, refused_writes_nothing=True,
    )  # fmt: skip
    assert "[first_name=''] -> refused (200) but wrote rows at " in fuzz.recorder.report()
    assert "patients_patient" in fuzz.recorder.report()
    fuzz.recorder.problems.clear()


def test_every_request_is_rolled_back(fuzz):
    before = fuzz.snapshot()
    with transaction.atomic():
        PatientFactory()
        assert fuzz.snapshot() != before
        transaction.set_rollback(True)
    archive = fuzz.path("patients:archive")
    fuzz.request("receptionist", "post", archive, name="patients:archive", where="", value=Value(b""))
    assert fuzz.snapshot() == before


def test_a_page_is_read_as_a_browser_would_send_it():
    html = """<form method="post" action="/x/"><input type="hidden" name="csrfmiddlewaretoken" value="t">
    <input name="a" value="1"><input type="checkbox" name="box" value="on">
    <input type="radio" name="r" value="first"><input type="radio" name="r" value="second" checked>
    <select name="s"><option value="">--</option><option value="7">Seven</option></select>
    <textarea name="t">
text</textarea><button type="submit" name="go" value="yes">Go</button></form>
    <a href="/list/?page=2&amp;q=z">next</a>"""
    (form,), links = read_page("/page/", html)
    sent = [("csrfmiddlewaretoken", "t"), ("a", "1"), ("r", "second"), ("s", "7"), ("t", "text"), ("go", "yes")]
    assert form.fields == sent
    assert form.names == ["a", "r", "s", "t", "go", "box"]
    assert links == ["/list/?page=2&q=z"]
