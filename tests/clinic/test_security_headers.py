"""Every URL the resolver knows, fetched as a logged-in manager and doctor (and anonymously):
each answer, whatever its status, carries the Content-Security-Policy and the
Permissions-Policy, and an answer to a logged-in user is never cacheable."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from clinic.audit import Actor
from messaging.links import make_token
from scheduling.emails import CANCEL_ACTION, CONFIRM_ACTION, appointment_link_version
from tests.factories import ConsentRecordFactory, HistoryItemFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory
from tests.treatments.factories import SignedSessionFactory
from treatments.photos import photo_upload

pytestmark = pytest.mark.django_db

CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
}


def url_patterns(resolver: URLResolver | None = None, namespace: str = "", prefix: str = ""):
    """(name, route, converter names) of every named URL pattern, walked from the resolver."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", prefix + str(entry.pattern), tuple(entry.pattern.regex.groupindex)


@pytest.fixture
def world(doctor, settings, tmp_path):
    """One of everything a URL can point at, made for the doctor persona."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    session = SignedSessionFactory(plan__consultation__doctor=doctor)
    plan, patient = session.plan, session.patient
    consent = ConsentRecordFactory(patient=patient)
    ConsentRecordFactory(patient=patient, procedure="photography")
    item = HistoryItemFactory(patient=patient)
    practitioner = PractitionerFactory(user=doctor)
    appointment = AppointmentFactory(patient=patient, practitioner=practitioner, plan=plan)
    image = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(image, format="PNG")
    photo = photo_upload(
        session=session,
        upload=SimpleUploadedFile("face.png", image.getvalue(), "image/png"),
        kind="before",
        view="front",
        actor=Actor(user=doctor),
    )
    message = ScheduledMessageFactory(patient=patient)
    version = appointment_link_version(appointment)
    return {
        "patient": patient.pk,
        "item_pk": item.pk,
        "consent_pk": consent.pk,
        "consultation": session.plan.consultation_id,
        "plan": plan.pk,
        "session": session.pk,
        "photo": photo.pk,
        "appointment": appointment.pk,
        "practitioner": practitioner.pk,
        "message": message.pk,
        "feed_token": practitioner.feed_token,
        "confirm_token": make_token(CONFIRM_ACTION, appointment.pk, version=version),
        "cancel_token": make_token(CANCEL_ACTION, appointment.pk, version=version),
        "unsubscribe_token": make_token("unsubscribe", patient.pk),
    }


# What ``pk`` and ``token`` mean, by the URL's name (first matching prefix).
PK_BY_NAME = [
    ("patients:import_", None),  # an import in progress belongs to whoever uploaded it: headers on the 404
    ("patients:", "patient"),
    ("treatments:consultation_", "consultation"),
    ("treatments:plan_", "plan"),
    ("treatments:aftercare_print", "plan"),
    ("treatments:photo_compare", "plan"),
    ("treatments:photo_file", "photo"),
    ("treatments:session_", "session"),
    ("treatments:photo_upload", "session"),
    ("scheduling:appointment_", "appointment"),
    ("scheduling:week", "practitioner"),
    ("scheduling:feed_regenerate", "practitioner"),
    ("messaging:retry", "message"),
]
TOKEN_BY_NAME = {
    "scheduling:feed": "feed_token",
    "scheduling:public_confirm": "confirm_token",
    "scheduling:public_cancel": "cancel_token",
    "messaging:unsubscribe": "unsubscribe_token",
}
OTHER_KWARGS = {
    "patient_pk": "patient",
    "consultation_pk": "consultation",
    "plan_pk": "plan",
    "item_pk": "item_pk",
    "consent_pk": "consent_pk",
}


def _admin_object_id(name: str) -> str | None:
    """The pk of an existing row for admin:<app>_<model>_change and friends."""
    for model in apps.get_models():
        label = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(label):
            row = model._default_manager.order_by("pk").first()
            return str(row.pk) if row is not None else "0"
    return None


def build_url(name: str, converters: tuple[str, ...], world: dict) -> tuple[str, bool]:
    """The URL with real arguments where this test knows them (True), else placeholders."""
    kwargs: dict[str, object] = {}
    known = True
    for kwarg in converters:
        if kwarg == "pk":
            key = next((key for prefix, key in PK_BY_NAME if name.startswith(prefix)), None)
        elif kwarg == "token":
            key = TOKEN_BY_NAME.get(name)
        elif kwarg == "object_id":
            object_id = _admin_object_id(name)
            kwargs[kwarg] = object_id or "0"
            known = object_id is not None
            continue
        elif kwarg == "app_label":
            kwargs[kwarg] = "clinic"
            continue
        else:
            key = OTHER_KWARGS.get(kwarg)
        if key is None:
            # A URL added after this test was written still has its headers checked (on a
            # 404 at least); add its arguments above to walk the real page.
            kwargs[kwarg] = "0"
            known = False
        else:
            kwargs[kwarg] = world[key]
    try:
        return reverse(name, kwargs=kwargs), known
    except Exception:  # a converter that refuses "0" (e.g. a regex): try a word
        return reverse(name, kwargs={key: "x" if value == "0" else value for key, value in kwargs.items()}), False


def all_urls(world: dict) -> list[tuple[str, str, bool]]:
    seen = set()
    urls = []
    for name, _route, converters in url_patterns():
        if name in seen:
            continue
        seen.add(name)
        url, known = build_url(name, converters, world)
        urls.append((name, url, known))
    return urls


def assert_security_headers(response, where: str) -> None:
    policy = response.get("Content-Security-Policy", "")
    directives = {part.strip() for part in policy.split(";")}
    missing = CSP_DIRECTIVES - directives
    assert not missing, f"{where}: CSP lacks {missing} (got {policy!r})"
    assert "unsafe-inline" not in policy, f"{where}: {policy!r}"
    assert "unsafe-eval" not in policy, f"{where}: {policy!r}"
    permissions = response.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in permissions, f"{where}: Permissions-Policy lacks {feature}"


def test_the_walk_covers_every_app(world):
    names = {name for name, _url, _known in all_urls(world)}
    for expected in ("home", "patients:detail", "treatments:plan_detail", "scheduling:day", "messaging:communications"):
        assert expected in names
    assert any(name.startswith("admin:") for name in names)


# Pages that exist only once: new recovery codes are shown right after they are made, then 404.
GONE_ONCE_SHOWN = {"accounts:recovery_codes"}


@pytest.mark.parametrize("persona", ["manager", "doctor"])
def test_every_url_answers_logged_in_users_with_no_store_and_the_policies(client, request, world, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    statuses = {}
    for name, url, known in all_urls(world):
        response = client.get(url)
        where = f"{persona} GET {url} ({name}) -> {response.status_code}"
        statuses[name] = response.status_code
        assert response.status_code < 500, where
        if known and not name.startswith("admin:") and name not in GONE_ONCE_SHOWN:
            # Real arguments: the page exists (it may be refused to this role, or be POST-only).
            assert response.status_code != 404, where
        assert_security_headers(response, where)
        if name == "logout" or not response.wsgi_request.user.is_authenticated:
            continue
        assert response["Cache-Control"] == "no-store, private", where
    # The walk reached real pages, not only refusals.
    assert statuses["home"] == 200
    assert statuses["scheduling:day"] == 200
    if persona == "doctor":
        assert statuses["treatments:plan_detail"] == 200
        assert statuses["treatments:photo_file"] == 200
    else:
        assert statuses["audit_list"] == 200
        assert statuses["messaging:communications"] == 200


def test_refusals_and_missing_pages_for_logged_in_users_are_not_cacheable(receptionist_client, world):
    refused = receptionist_client.get(reverse("patients:medical_history", args=[world["patient"]]))
    missing = receptionist_client.get(reverse("patients:detail", args=[999_999]))
    assert (refused.status_code, missing.status_code) == (403, 404)
    for response in (refused, missing):
        assert response["Cache-Control"] == "no-store, private"
        assert_security_headers(response, response.wsgi_request.path)


def test_every_url_carries_the_policies_for_anonymous_visitors(client, world):
    for name, url, _known in all_urls(world):
        response = client.get(url)
        assert response.status_code < 500, f"anonymous GET {url} ({name})"
        assert_security_headers(response, f"anonymous GET {url} ({name})")


def test_pages_have_no_inline_script_handler_or_style(doctor_client, world):
    """What the policy would block in a browser is not in the markup the pages send."""
    for name, url, known in all_urls(world):
        if not known or name.startswith("admin:"):
            continue
        response = doctor_client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert "<script>" not in html, name
        assert '<script type="text/javascript">' not in html, name
        assert " style=" not in html, name
        lowered = html.lower()
        for handler in (" onclick=", " onload=", " onchange=", " onsubmit=", " onerror="):
            assert handler not in lowered, f"{name}: {handler}"
