"""What the fuzz tests share: one world of records for a whole test module (test_permissions'
World with every page's arguments made), a logged-in client per persona, the forms and links
each page shows, and a way to send one request that catches a crash, checks that a refused
request wrote nothing and always rolls back, so every request meets the same data.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote_from_bytes, urlsplit

from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from hypothesis import HealthCheck, Phase, settings

from intake.emails import LINK_ACTION as INTAKE_ACTION
from messaging.links import make_token
from tests.factories import DoctorFactory, ManagerFactory, ReceptionistFactory, mark_second_factor_verified
from tests.fuzz.values import Value
from tests.intake.factories import IntakeQuestionnaireFactory
from tests.test_permissions import CHECKED_APPS, OK, PAGES, PERSONAS, World

REPO = Path(__file__).resolve().parents[2]
# Stands for the argument being fuzzed when a path is reversed: digits match every converter.
SENTINEL = "98765432123456789"

# Hypothesis draws more malformed values: a fixed number, the same ones every run.
EXAMPLES = settings(
    max_examples=8,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


# -- Forms and links on a page ---------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str  # the path it sends to, query string included
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)  # as a browser would send them
    kinds: dict[str, str] = field(default_factory=dict)  # name -> input type / select / textarea

    @property
    def names(self) -> list[str]:
        """Every field's name, a box left unticked (so not sent as shown) included."""
        buttons = ("submit", "button", "image", "reset")
        every = [name for name, _ in self.fields] + [name for name, kind in self.kinds.items() if kind not in buttons]
        return list(dict.fromkeys(name for name in every if name != "csrfmiddlewaretoken"))


class _PageParser(HTMLParser):
    def __init__(self, page_path: str):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: list | None = None
        self._textarea: list | None = None
        self._radios_seen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = {key: (value or "") for key, value in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            self.links.append(a["href"])
        elif tag == "form":
            action = a.get("action") or self.page_path
            self._form = Form(
                method=a.get("method", "get").lower(),
                action=action,
                multipart="multipart" in a.get("enctype", ""),
            )
            self._radios_seen = set()
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            self._form.kinds.setdefault(a["name"], kind)
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a or (kind == "radio" and a["name"] not in self._radios_seen):
                    if kind == "radio":
                        self._form.fields = [(n, v) for n, v in self._form.fields if n != a["name"]]
                    self._form.fields.append((a["name"], a.get("value", "on")))
                    self._radios_seen.add(a["name"])
                return
            self._form.fields.append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            if a["name"] not in dict(self._form.fields):
                self._form.fields.append((a["name"], a.get("value", "")))
                self._form.kinds[a["name"]] = "button"
        elif tag == "select" and a.get("name"):
            self._select = (a["name"], [])
            self._form.kinds[a["name"]] = "select"
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "selected" in a, ""]
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
            self._form.kinds[a["name"]] = "textarea"

    def handle_data(self, data):
        if self._option is not None:
            self._option[2] += data
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select[1].append((text.strip() if value is None else value, selected))
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options = self._select
            chosen = [value for value, selected in options if selected]
            if not chosen:
                chosen = [next((value for value, _ in options if value), options[0][0] if options else "")]
            self._form.fields.extend((name, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea[0], self._textarea[1].removeprefix("\n")))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def read_page(path: str, html: str) -> tuple[list[Form], list[str]]:
    """The forms of a page and its links that carry a query string."""
    parser = _PageParser(path)
    parser.feed(html)
    return parser.forms, parser.links


def query_keys(link: str) -> set[str]:
    return {key for key, _ in parse_qsl(urlsplit(link).query, keep_blank_values=True)}


# A plausible value for a field the page leaves empty, so that the others are valid while one
# is malformed (a create form shows empty inputs).
FILLERS = {
    "date": "2030-01-14",
    "time": "10:00",
    "datetime-local": "2030-01-14T10:00",
    "number": "1",
    "email": "fuzz@example.com",
    "tel": "+44 20 7946 0000",
    "url": "https://example.com/",
    "password": "Fuzz-pass-9876!",
    "textarea": "Fuzz text",
    "text": "Fuzz",
    "search": "Fuzz",
}


def filled(form: Form) -> list[tuple[str, str]]:
    fields = []
    for name, value in form.fields:
        kind = form.kinds.get(name, "text")
        if value == "" and kind in FILLERS and name not in ("next",):
            value = FILLERS[kind]
        fields.append((name, value))
    return fields


def url_name_of(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


# -- Sending a request ------------------------------------------------------------------------


def encode(pairs: list[tuple[str, Value | str]]) -> str:
    """A urlencoded body or query string, each value byte for byte (invalid UTF-8 included)."""

    def raw(value):
        return value.raw if isinstance(value, Value) else value.encode()

    return "&".join(
        f"{quote_from_bytes(raw(key), safe='')}={quote_from_bytes(raw(value), safe='')}" for key, value in pairs
    )


def multipart(pairs: list[tuple[str, Value | str]], kinds: dict[str, str]) -> dict | None:
    """The data for a multipart form, or None when a value cannot travel as text there."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    data: dict[str, list] = {}
    for name, value in pairs:
        raw = value.raw if isinstance(value, Value) else value.encode()
        if kinds.get(name) == "file":
            data.setdefault(name, []).append(SimpleUploadedFile("fuzz.csv", raw, "text/csv"))
        elif isinstance(value, Value) and not value.is_utf8:
            return None
        else:
            data.setdefault(name, []).append(raw.decode())
    return data


def path_with(fuzz, name: str, position: int, value: Value) -> str:
    args = list(fuzz.args[name])
    args[position] = SENTINEL
    return reverse(name, args=args).replace(SENTINEL, encode([("", value)])[1:])


@dataclass(frozen=True)
class Problem:
    """One crash: where it was found and where it came from (deduplicated on the last two)."""

    url: str
    persona: str
    method: str
    where: str
    value: str
    error: str
    origin: str

    def line(self, count: int) -> str:
        more = f" (x{count})" if count > 1 else ""
        asked = f"{self.method} {self.url} as {self.persona} [{self.where}={self.value}]"
        return f"{asked} -> {self.error} at {self.origin}{more}"


def origin_of(exc: BaseException) -> str:
    """The project's last line in the traceback (or, when the project has none, the last
    line outside Django), and the line that raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/.venv/" not in f.filename and "/site-packages/" not in f.filename]
    ours = (
        [f for f in ours if f.filename.startswith(str(REPO)) and "/tests/" not in f.filename]
        or [f for f in frames if "/site-packages/" in f.filename and "/site-packages/django/" not in f.filename]
        or [f for f in frames if "/django/" in f.filename and "/django/db/" not in f.filename]
    )
    last = frames[-1] if frames else None
    where = "?"
    if ours:
        path = Path(ours[-1].filename)
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else Path(*path.parts[-2:])
        where = f"{shown}:{ours[-1].lineno}"
    if last is not None and (not ours or last is not ours[-1]):
        where += f" (raised in {Path(last.filename).name}:{last.lineno})"
    return where


class Recorder:
    def __init__(self):
        self.problems: dict[tuple, tuple[Problem, int]] = {}
        self.requests = 0

    def add(self, problem: Problem) -> None:
        key = (problem.url, problem.method, problem.where, problem.error.split(":")[0], problem.origin)
        first, count = self.problems.get(key, (problem, 0))
        self.problems[key] = (first, count + 1)

    def report(self) -> str:
        return "\n".join(problem.line(count) for problem, count in self.problems.values())


def snapshot_sql() -> str:
    tables = []
    for label in CHECKED_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy and model._meta.db_table not in tables:
                tables.append(model._meta.db_table)
    parts = [
        f"SELECT '{table}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"  # noqa: S608
        for table in tables
    ]
    return " UNION ALL ".join(parts)


# How a page shows a form's errors (crispy's Bootstrap 5 templates, Django's error lists).
ERROR_MARKS = (b"is-invalid", b"alert-danger", b"errorlist")


def refused(response) -> bool:
    """A client error, or the form shown again with its errors. A redirect is a success, and
    so is any other page (the public links answer a POST with a page saying it was done)."""
    if response.status_code >= 400:
        return True
    return response.status_code == 200 and any(mark in response.content for mark in ERROR_MARKS)


class Site:
    """A world of records, its personas logged in, every page's path and what each shows."""

    def __init__(self):
        self.users = {
            "anonymous": None,
            "doctor": DoctorFactory(username="dr_ada", first_name="Ada", last_name="Okafor"),
            "receptionist": ReceptionistFactory(username="rita", first_name="Rita", last_name="Lane"),
            "manager": ManagerFactory(username="mona", first_name="Mona", last_name="Hale"),
        }
        self.world = World(self.users["doctor"])
        self.args = {name: page.args(self.world) for name, page in PAGES.items()}
        self.queries = {name: page.query(self.world) if page.query else {} for name, page in PAGES.items()}
        self.open_questionnaire = IntakeQuestionnaireFactory(patient=self.world.patient)
        self.clients = {persona: self.client_for(user) for persona, user in self.users.items()}
        self._snapshot_sql = snapshot_sql()
        self.baseline = self.snapshot()
        self.recorder = Recorder()
        # What the pages show (read on first use): forms by the URL they send to, links' and
        # GET forms' query keys by URL.
        self._post_forms: dict[str, list[tuple[str, Form]]] | None = None
        self._get_keys: dict[str, set[str]] = {}

    @property
    def post_forms(self) -> dict[str, list[tuple[str, Form]]]:
        if self._post_forms is None:
            self._post_forms = {}
            self._discover()
        return self._post_forms

    @property
    def get_keys(self) -> dict[str, set[str]]:
        self.post_forms  # noqa: B018 - reads the pages
        return self._get_keys

    @staticmethod
    def client_for(user) -> Client:
        client = Client(raise_request_exception=True)
        if user is not None:
            client.force_login(user)
            mark_second_factor_verified(client, user)
        return client

    def path(self, name: str, args: list | None = None) -> str:
        return reverse(name, args=self.args[name] if args is None else args)

    def snapshot(self) -> dict[str, tuple]:
        with connection.cursor() as cursor:
            cursor.execute(self._snapshot_sql)
            return {table: (count, digest) for table, count, digest in cursor.fetchall()}

    def _pages(self):
        """Each page as each persona who may see it, and pages the world shows no form on:
        a questionnaire the patient has not sent yet."""
        for name, page in PAGES.items():
            for persona, status in zip(PERSONAS, page.get, strict=True):
                if status == OK:
                    query = self.queries[name]
                    path = self.path(name)
                    if query:
                        path += "?" + encode([(key, str(value)) for key, value in query.items()])
                    yield name, persona, path
        token = make_token(INTAKE_ACTION, self.open_questionnaire.pk)
        yield "intake:questionnaire", "anonymous", self.path("intake:questionnaire", [token])

    def _discover(self) -> None:
        for name, persona, path in self._pages():
            response = self.request(persona, "get", path, name=name, where="(page)", value=Value(b""))
            if response is None or "html" not in response.get("Content-Type", ""):
                continue
            forms, links = read_page(path, response.content.decode())
            for form in forms:
                target = url_name_of(form.action)
                if target is None:
                    continue
                if form.method == "post":
                    self._post_forms.setdefault(target, []).append((persona, form))
                else:
                    self._get_keys.setdefault(target, set()).update(form.names)
            for link in links:
                target = url_name_of(link)
                if target is not None:
                    self._get_keys.setdefault(target, set()).update(query_keys(link))
            for form in forms:
                # A GET form that leads to a POST form (choose a consent's text, then sign
                # it; choose a course's times, then book them): sent as shown, and read.
                target = url_name_of(form.action)
                if form.method == "get" and target in PAGES and PAGES[target].post is not None:
                    self._read_forms_behind(persona, form, target)

    def _read_forms_behind(self, persona: str, form: Form, target: str) -> None:
        path = f"{urlsplit(form.action).path}?{encode(filled(form))}"
        response = self.request(persona, "get", path, name=target, where="(page)", value=Value(b""))
        if response is not None and response.status_code == 200 and "html" in response.get("Content-Type", ""):
            forms, _links = read_page(path, response.content.decode())
            for found in forms:
                if found.method == "post" and url_name_of(found.action) == target:
                    self._post_forms.setdefault(target, []).append((persona, found))

    def request(
        self,
        persona: str,
        method: str,
        path: str,
        *,
        name: str,
        where: str,
        value: Value,
        body: str | dict | None = None,
        refused_writes_nothing: bool = False,
    ):
        """Send one request as ``persona``; record a crash or a refused request that wrote rows.
        Returns the response (None after a crash). Everything it wrote is rolled back."""
        client = self.clients[persona]
        self.recorder.requests += 1

        def problem(error: str, origin: str) -> Problem:
            return Problem(name, persona, method.upper(), where, repr(value), error, origin)

        with transaction.atomic():
            try:
                return self._send(client, method, path, body, refused_writes_nothing, problem)
            finally:
                transaction.set_rollback(True)

    def _send(self, client, method, path, body, refused_writes_nothing, problem):
        try:
            if method == "get":
                response = client.get(path)
            elif isinstance(body, dict):
                response = client.post(path, body)
            else:
                response = client.post(path, body or "", content_type="application/x-www-form-urlencoded")
        except Exception as exc:  # every crash is recorded, with where it came from
            self.recorder.add(problem(f"{type(exc).__name__}: {str(exc)[:90]!r}", origin_of(exc)))
            return None
        if response.status_code >= 500:
            self.recorder.add(problem(f"HTTP {response.status_code}", "(no exception)"))
        elif refused_writes_nothing and refused(response):
            after = self.snapshot()
            changed = sorted(table for table in after if after[table] != self.baseline.get(table))
            if changed:
                self.recorder.add(problem(f"refused ({response.status_code}) but wrote rows", ", ".join(changed)))
        return response
