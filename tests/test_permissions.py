"""Every page against every role, from one table.

The test walks every URL pattern of the site (through the includes) and looks each up in
PAGES: what an anonymous visitor, a doctor, a receptionist and a manager get from a GET, and
for pages that take a POST, who is refused. A pattern missing from the table fails the suite,
so a new page is added here with its answer for each role. The roles themselves are declared
in clinic/roles.py; README.md ("Roles and what they may do") says the same in words.

Refused means 403 for a logged-in user and the login page for an anonymous visitor; a refused
POST changes nothing. POST-only endpoints answer 405 to a GET, whoever asks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from io import BytesIO

import pytest
import time_machine
from django.apps import apps
from django.core import serializers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from clinic.audit import Actor
from messaging.links import make_token
from messaging.models import ScheduledMessage
from scheduling.emails import CANCEL_ACTION, CONFIRM_ACTION
from tests.factories import (
    ConsentRecordFactory,
    HistoryItemFactory,
    PatientFactory,
    ReceptionistFactory,
    SkinProfileFactory,
)
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.conftest import NOW
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory, RoomFactory, appointment_type
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    ConsultationFactory,
    SignedSessionFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from treatments.models import Photo
from treatments.photos import photo_upload

pytestmark = pytest.mark.django_db

OK, REDIRECT, FORBIDDEN, NOT_ALLOWED = 200, 302, 403, 405
LOGIN = "login"  # an anonymous visitor is sent to the login page
ALLOWED = "allowed"  # a POST the role may make: answered, whatever the form says, not refused
PERSONAS = ("anonymous", "doctor", "receptionist", "manager")
# Namespaces left out of the walk: Django's admin checks its own permissions (is_staff and the
# model permissions of clinic/roles.py) and has its own tests.
EXCLUDED_NAMESPACES = {"admin"}
# Domain data a refused POST must leave as it was. The audit trail is not in it: a refused
# attempt may be recorded, which is a record, not a change. Nor is auth (logging in sets last_login).
CHECKED_APPS = ("patients", "messaging", "treatments", "scheduling")
POST_DATA = {"reason": "x", "text": "x"}


class World:
    """The records the pages are about, built on first use: one patient with a consent, a
    history item, a skin profile, an active plan (a signed and a draft session, a photo), a
    proposed plan, a draft consultation, an appointment, a failed message; the doctor is the
    practitioner."""

    def __init__(self, doctor):
        self.doctor = doctor

    @cached_property
    def plan(self):
        return ActivePlanFactory(doctor=self.doctor, consultation__doctor=self.doctor)

    @cached_property
    def patient(self):
        return self.plan.patient

    @cached_property
    def bare_patient(self):
        return PatientFactory()

    @cached_property
    def consent(self):
        return ConsentRecordFactory(patient=self.patient)

    @cached_property
    def history_item(self):
        return HistoryItemFactory(patient=self.patient)

    @cached_property
    def skin_profile(self):
        return SkinProfileFactory(patient=self.patient)

    @cached_property
    def consultation(self):
        return self.plan.consultation

    @cached_property
    def draft_consultation(self):
        return ConsultationFactory(patient=self.patient, doctor=self.doctor)

    @cached_property
    def proposed_plan(self):
        return TreatmentPlanFactory(consultation=self.consultation)

    @cached_property
    def draft_session(self):
        SignedSessionFactory(plan=self.plan, number=1, doctor=self.doctor)
        return TreatmentSessionFactory(plan=self.plan, number=2, doctor=self.doctor)

    @cached_property
    def photo(self):
        image = BytesIO()
        Image.new("RGB", (10, 10), "white").save(image, format="PNG")
        ConsentRecordFactory(patient=self.patient, procedure="photography")
        return photo_upload(
            session=self.draft_session,
            upload=SimpleUploadedFile("a.png", image.getvalue(), "image/png"),
            kind=Photo.Kind.BEFORE,
            view="front",
            actor=Actor(user=self.doctor),
        )

    @cached_property
    def batch(self):
        batch = BatchFactory(product=self.plan.plan_products.first().product)
        self.draft_session.batch_usages.create(batch=batch, amount="1.00")
        return batch

    @cached_property
    def staff_member(self):
        return ReceptionistFactory(username="front_desk_two")

    @cached_property
    def practitioner(self):
        return PractitionerFactory(user=self.doctor, default_room=RoomFactory(name="Room 1"))

    @cached_property
    def appointment(self):
        return AppointmentFactory(
            practitioner=self.practitioner,
            patient=self.patient,
            room=self.practitioner.default_room,
            starts_at=NOW.replace(hour=10),
        )

    @cached_property
    def failed_message(self):
        return ScheduledMessageFactory(patient=self.patient, status=ScheduledMessage.Status.FAILED)

    def booking_query(self) -> dict:
        return {
            "patient": self.patient.pk,
            "practitioner": self.practitioner.pk,
            "appointment_type": appointment_type("Consultation").pk,
            "start": NOW.replace(hour=15).isoformat(),
        }


def no_args(world: World) -> list:
    return []


def patient(world: World) -> list:
    return [world.patient.pk]


def appointment(world: World) -> list:
    return [world.appointment.pk]


def staff_member(world: World) -> list:
    return [world.staff_member.pk]


def draft_session(world: World) -> list:
    return [world.patient.pk, world.draft_session.pk]


FORM = "form"


@dataclass(frozen=True)
class Page:
    """get: the status of a GET for (anonymous, doctor, receptionist, manager).
    post: None for a page that only reads (a POST answers 405); otherwise the answer to a POST
    for each persona (LOGIN, FORBIDDEN, ALLOWED or a status), or FORM for a page with a form,
    whose POST is refused to whoever its GET refuses and answered for the others."""

    get: tuple
    args: Callable[[World], list] = no_args
    query: Callable[[World], dict] | None = None
    post: tuple | str | None = None

    def post_answers(self) -> tuple:
        if self.post != FORM:
            return self.post
        return tuple(status if status in (LOGIN, FORBIDDEN) else ALLOWED for status in self.get)


EVERYONE = (OK, OK, OK, OK)
STAFF = (LOGIN, OK, OK, OK)
CLINICAL = (LOGIN, OK, FORBIDDEN, FORBIDDEN)  # doctors only
BOOKING = (LOGIN, OK, OK, FORBIDDEN)  # managers see the calendars but do not book
MANAGER_ONLY = (LOGIN, FORBIDDEN, FORBIDDEN, OK)
POST_ONLY = (NOT_ALLOWED,) * 4
PUBLIC_ACTION = (ALLOWED,) * 4  # public signed links: the token in the URL is the key
CLINICAL_ACTION = (LOGIN, ALLOWED, FORBIDDEN, FORBIDDEN)
BOOKING_ACTION = (LOGIN, ALLOWED, ALLOWED, FORBIDDEN)

PAGES: dict[str, Page] = {
    # Foundation: home, sign-in, audit trail
    "home": Page(STAFF),
    "login": Page(EVERYONE, post=FORM),
    "logout": Page(POST_ONLY, post=(REDIRECT,) * 4),  # to the login page, signed out
    "password_change": Page(STAFF, post=FORM),
    "password_change_done": Page(STAFF),
    "audit_list": Page(MANAGER_ONLY),
    # Staff accounts (managers) and each person's own second factor
    "accounts:staff_list": Page(MANAGER_ONLY),
    "accounts:staff_invite": Page(MANAGER_ONLY, post=FORM),
    "accounts:staff_detail": Page(MANAGER_ONLY, staff_member),
    **{
        f"accounts:{name}": Page(POST_ONLY, staff_member, post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED))
        for name in ("staff_roles", "staff_deactivate", "staff_reactivate", "staff_unlock", "staff_reset_2fa")
    },
    "accounts:staff_invite_again": Page(POST_ONLY, staff_member, post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)),
    # A one-time link: an unknown or used token shows why, to anyone.
    "accounts:invitation": Page(EVERYONE, lambda w: ["MQ", "set-password"], post=PUBLIC_ACTION),
    "accounts:second_factor": Page(STAFF),
    # The personas have enrolled and passed the second factor: these send them on.
    "accounts:enrol": Page((LOGIN, REDIRECT, REDIRECT, REDIRECT), post=FORM),
    "accounts:verify": Page((LOGIN, REDIRECT, REDIRECT, REDIRECT), post=FORM),
    # Recovery codes are shown once, right after they are made; none are on file here.
    "accounts:recovery_codes": Page((LOGIN, 404, 404, 404)),
    "accounts:recovery_codes_renew": Page(POST_ONLY, post=(LOGIN, ALLOWED, ALLOWED, ALLOWED)),
    "accounts:second_factor_remove": Page(POST_ONLY, post=(LOGIN, ALLOWED, ALLOWED, ALLOWED)),
    # Patients: the desk, then clinical data (doctors only)
    "patients:list": Page(STAFF),
    "patients:register": Page(STAFF, post=FORM),
    "patients:detail": Page(STAFF, patient),
    "patients:edit": Page(STAFF, patient, post=FORM),
    "patients:archive": Page(POST_ONLY, patient, post=(LOGIN, FORBIDDEN, ALLOWED, ALLOWED)),
    "patients:restore": Page(POST_ONLY, patient, post=(LOGIN, FORBIDDEN, ALLOWED, ALLOWED)),
    # Only a record made by mistake (no clinical data) may be deleted.
    "patients:delete": Page(POST_ONLY, lambda w: [w.bare_patient.pk], post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)),
    "patients:medical_history": Page(CLINICAL, patient),
    "patients:history_item_add": Page(CLINICAL, patient, post=FORM),
    "patients:history_item_edit": Page(CLINICAL, lambda w: [w.patient.pk, w.history_item.pk], post=FORM),
    "patients:history_item_versions": Page(CLINICAL, lambda w: [w.patient.pk, w.history_item.pk]),
    "patients:skin_profile_edit": Page(CLINICAL, patient, post=FORM),
    "patients:skin_profile_versions": Page(CLINICAL, lambda w: [w.skin_profile.patient.pk]),
    "patients:consent_add": Page(CLINICAL, patient, post=FORM),
    "patients:consent_detail": Page(CLINICAL, lambda w: [w.patient.pk, w.consent.pk]),
    "patients:consent_print": Page(CLINICAL, lambda w: [w.patient.pk, w.consent.pk]),
    "patients:consent_signature": Page(CLINICAL, lambda w: [w.patient.pk, w.consent.pk]),
    "patients:consent_withdraw": Page(POST_ONLY, lambda w: [w.patient.pk, w.consent.pk], post=CLINICAL_ACTION),
    # Messaging: the Communications page (managers) and the public unsubscribe link
    "messaging:communications": Page(MANAGER_ONLY),
    "messaging:retry": Page(POST_ONLY, lambda w: [w.failed_message.pk], post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)),
    "messaging:unsubscribe": Page(EVERYONE, lambda w: [make_token("unsubscribe", w.patient.pk)], post=PUBLIC_ACTION),
    # Treatments: clinical records (doctors only) and the formulary (doctors and managers)
    "treatments:formulary": Page((LOGIN, OK, FORBIDDEN, OK)),
    # Lot traceability ("who got lot X") for doctors and managers; recalling a batch for managers.
    "treatments:lot_search": Page((LOGIN, OK, FORBIDDEN, OK), query=lambda w: {"q": w.batch.lot_number}),
    "treatments:batch_trace": Page((LOGIN, OK, FORBIDDEN, OK), lambda w: [w.batch.pk]),
    "treatments:batch_recipients_csv": Page((LOGIN, OK, FORBIDDEN, OK), lambda w: [w.batch.pk]),
    "treatments:batch_recall": Page(MANAGER_ONLY, lambda w: [w.batch.pk], post=FORM),
    "treatments:batch_recall_notify": Page(
        POST_ONLY, lambda w: [w.batch.pk], post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)
    ),
    "treatments:timeline": Page(CLINICAL, patient),
    "treatments:consultation_create": Page(CLINICAL, patient, post=FORM),
    "treatments:consultation_detail": Page(CLINICAL, lambda w: [w.patient.pk, w.consultation.pk]),
    "treatments:consultation_edit": Page(CLINICAL, lambda w: [w.patient.pk, w.draft_consultation.pk], post=FORM),
    "treatments:consultation_sign": Page(
        POST_ONLY, lambda w: [w.patient.pk, w.draft_consultation.pk], post=CLINICAL_ACTION
    ),
    "treatments:consultation_addendum": Page(
        POST_ONLY, lambda w: [w.patient.pk, w.consultation.pk], post=CLINICAL_ACTION
    ),
    "treatments:plan_create": Page(CLINICAL, lambda w: [w.patient.pk, w.consultation.pk], post=FORM),
    "treatments:plan_safety_preview": Page(CLINICAL, lambda w: [w.patient.pk, w.consultation.pk]),
    "treatments:plan_detail": Page(CLINICAL, lambda w: [w.patient.pk, w.plan.pk]),
    "treatments:plan_edit": Page(CLINICAL, lambda w: [w.patient.pk, w.proposed_plan.pk], post=FORM),
    "treatments:plan_activate": Page(POST_ONLY, lambda w: [w.patient.pk, w.plan.pk], post=CLINICAL_ACTION),
    "treatments:plan_cancel": Page(POST_ONLY, lambda w: [w.patient.pk, w.plan.pk], post=CLINICAL_ACTION),
    "treatments:plan_print": Page(CLINICAL, lambda w: [w.patient.pk, w.plan.pk]),
    "treatments:aftercare_print": Page(CLINICAL, lambda w: [w.patient.pk, w.plan.pk]),
    "treatments:photo_compare": Page(CLINICAL, lambda w: [w.patient.pk, w.plan.pk]),
    "treatments:session_create": Page(CLINICAL, lambda w: [w.patient.pk, w.plan.pk], post=FORM),
    "treatments:session_detail": Page(CLINICAL, draft_session),
    "treatments:session_edit": Page(CLINICAL, draft_session, post=FORM),
    "treatments:session_sign": Page(POST_ONLY, draft_session, post=CLINICAL_ACTION),
    "treatments:session_discard": Page(POST_ONLY, draft_session, post=CLINICAL_ACTION),
    "treatments:session_addendum": Page(POST_ONLY, draft_session, post=CLINICAL_ACTION),
    "treatments:session_rating": Page(POST_ONLY, draft_session, post=CLINICAL_ACTION),
    "treatments:photo_upload": Page(POST_ONLY, draft_session, post=CLINICAL_ACTION),
    "treatments:photo_file": Page(CLINICAL, lambda w: [w.patient.pk, w.photo.pk]),
    # Scheduling: calendars for all staff, booking for doctors and receptionists
    "scheduling:day": Page(STAFF),
    "scheduling:today": Page(STAFF),
    "scheduling:week": Page(STAFF, lambda w: [w.practitioner.pk]),
    "scheduling:find": Page(STAFF),
    "scheduling:book": Page(BOOKING, query=World.booking_query, post=FORM),
    "scheduling:appointment_detail": Page(STAFF, appointment),
    "scheduling:appointment_move": Page(BOOKING, appointment, post=FORM),
    "scheduling:appointment_cancel": Page(POST_ONLY, appointment, post=BOOKING_ACTION),
    "scheduling:appointment_confirm": Page(POST_ONLY, appointment, post=BOOKING_ACTION),
    "scheduling:appointment_check_in": Page(POST_ONLY, appointment, post=BOOKING_ACTION),
    "scheduling:appointment_complete": Page(POST_ONLY, appointment, post=BOOKING_ACTION),
    "scheduling:appointment_no_show": Page(POST_ONLY, appointment, post=BOOKING_ACTION),
    "scheduling:appointment_ics": Page(STAFF, appointment),
    "scheduling:course_book": Page(BOOKING, lambda w: [w.plan.pk], post=FORM),
    # The practitioner's own feed, or any feed for whoever sets practitioners up (managers).
    "scheduling:feed_regenerate": Page(
        POST_ONLY, lambda w: [w.practitioner.pk], post=(LOGIN, ALLOWED, FORBIDDEN, ALLOWED)
    ),
    "scheduling:feed": Page(EVERYONE, lambda w: [w.practitioner.feed_token]),
    "scheduling:public_confirm": Page(
        EVERYONE, lambda w: [make_token(CONFIRM_ACTION, w.appointment.pk)], post=PUBLIC_ACTION
    ),
    "scheduling:public_cancel": Page(
        EVERYONE, lambda w: [make_token(CANCEL_ACTION, w.appointment.pk)], post=PUBLIC_ACTION
    ),
}


def url_names(resolver: URLResolver | None = None, namespace: str = "") -> list[str]:
    """The full name of every URL pattern, through the includes; '<unnamed ...>' for a
    pattern without a name (every page needs one to be in the table)."""
    names = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in EXCLUDED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            names.extend(url_names(entry, inner))
        elif isinstance(entry, URLPattern):
            names.append(f"{namespace}{entry.name}" if entry.name else f"<unnamed {namespace}{entry.pattern}>")
    return names


def test_every_url_pattern_is_in_the_table():
    names = url_names()
    assert len(names) == len(set(names)), "two patterns share a name"
    assert sorted(set(names) - set(PAGES)) == [], "add these pages to PAGES with their answer for each role"
    assert sorted(set(PAGES) - set(names)) == [], "these pages no longer exist"


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def personas(doctor, receptionist, manager):
    return {"anonymous": None, "doctor": doctor, "receptionist": receptionist, "manager": manager}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def domain_data() -> str:
    rows = []
    for label in CHECKED_APPS:
        for model in apps.get_app_config(label).get_models():
            rows.append(serializers.serialize("json", model._base_manager.order_by("pk")))
    return "\n".join(rows)


def check_answer(response, expected, who: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, who
        assert response.url.startswith(reverse("login")), who
    elif expected == ALLOWED:
        refused = response.status_code in (401, 403, 404, 405) or (
            response.status_code == 302 and response.url.startswith(reverse("login"))
        )
        assert not refused, f"{who}: {response.status_code}"
    else:
        assert response.status_code == expected, who


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("name", PAGES)
def test_page_answers_each_role(name, personas, doctor):
    page = PAGES[name]
    world = World(doctor)
    path = reverse(name, args=page.args(world))
    query = page.query(world) if page.query else {}

    for persona, expected in zip(PERSONAS, page.get, strict=True):
        response = client_for(personas[persona]).get(path, query)
        check_answer(response, expected, f"GET {name} as {persona}")

    if page.post is None:
        # A page that only reads refuses a POST, so it can never change anything.
        for persona in PERSONAS[1:]:
            response = client_for(personas[persona]).post(path, POST_DATA)
            assert response.status_code == NOT_ALLOWED, f"POST {name} as {persona}"
        return

    answers = dict(zip(PERSONAS, page.post_answers(), strict=True))
    refused = [persona for persona, answer in answers.items() if answer in (LOGIN, FORBIDDEN)]
    for persona in refused:
        client = client_for(personas[persona])
        before = domain_data()
        response = client.post(path, {**query, **POST_DATA})
        check_answer(response, answers[persona], f"POST {name} as {persona}")
        assert domain_data() == before, f"a refused POST to {name} by {persona} changed data"
    # Then the roles that may: last, as their POST may change what the others would see.
    for persona in (persona for persona in PERSONAS if persona not in refused):
        response = client_for(personas[persona]).post(path, {**query, **POST_DATA})
        check_answer(response, answers[persona], f"POST {name} as {persona}")


def test_menu_mirrors_the_roles(client, doctor, receptionist, manager):
    client.force_login(receptionist)
    body = client.get(reverse("home")).content.decode()
    assert "Audit trail" not in body
    assert "Patients" in body
    client.force_login(manager)
    assert "Audit trail" in client.get(reverse("home")).content.decode()
