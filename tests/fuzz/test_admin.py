"""The admin as a manager sees it: every change list with malformed filters, search, ordering
and page, and a change form (an add form where there is no record) with each field malformed.
No answer is a server error; a refused save writes no row."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.fuzz.harness import encode, filled, multipart, query_keys, read_page
from tests.fuzz.values import FEW, Value

pytestmark = pytest.mark.django_db

# Filters and search take what the URL says: the values and a few more a person types.
FILTER_VALUES = [
    *FEW,
    Value.of("\x00"),
    Value.of("99999"),
    Value.of("99999999999999999999"),
    Value.of("-1"),
    Value.of("1e309"),
    Value.of("2026-02-30"),
    Value.of("x" * 100_000),
]
LATER_ROW = re.compile(r"-([1-9][0-9]*|__prefix__)-")
FIELD_VALUES = [*FEW, Value.of("x" * 100_000), Value.of("1e309"), Value.of("0001-01-01"), Value.of("-1")]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# A date typed into a date-time filter (?recalled_at__gte=2026-01-01) is taken as midnight in
# the clinic's zone: Django warns that it was naive (the suite makes warnings errors); in
# production it is a warning in the log, not an error page.
@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
@pytest.mark.parametrize("model_admin", list(admin.site._registry.values()), ids=str)
def test_no_admin_page_answers_a_server_error(fuzz, model_admin):
    model = model_admin.model
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = admin_url(model, "changelist")

    def send(method, path, where, value, body=None):
        return fuzz.request(
            "manager", method, path, name=name, where=where, value=value, body=body, refused_writes_nothing=True
        )

    page = send("get", changelist, "(page)", Value(b""))
    keys = {"q", "o", "p", "_changelist_filters"}
    if page is not None and page.status_code == 200:
        _forms, links = read_page(changelist, page.content.decode())
        for link in links:
            keys |= query_keys(link)
    if model_admin.date_hierarchy:
        keys |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    for entry in model_admin.list_filter:
        if isinstance(entry, str):
            keys |= {f"{entry}__exact", f"{entry}__gte", f"{entry}__isnull", f"{entry}__id__exact"}
    for key in sorted(keys):
        for value in FILTER_VALUES:
            send("get", f"{changelist}?{encode([(key, value)])}", f"?{key}", value)

    record = model._default_manager.order_by("pk").first()
    try:
        form_path = admin_url(model, "change", record.pk) if record else admin_url(model, "add")
    except NoReverseMatch:
        form_path = None
    page = send("get", form_path, "(form)", Value(b"")) if form_path else None
    if page is not None and page.status_code == 200:
        forms, _links = read_page(form_path, page.content.decode())
        for form in (form for form in forms if form.method == "post"):
            base = filled(form)
            # An inline's first row stands for the others (its rows share their fields).
            for field in (name for name in form.names if not LATER_ROW.search(name)):
                for value in FIELD_VALUES:
                    fields = [(key, old) for key, old in base if key != field] + [(field, value)]
                    body = multipart(fields, form.kinds) if form.multipart else encode(fields)
                    if body is not None:
                        send("post", form.action, field, value, body)

    if fuzz.recorder.problems:
        pytest.fail("server errors or refused writes:\n" + fuzz.recorder.report(), pytrace=False)
