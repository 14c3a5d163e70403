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
from fhirapi.models import ALL_SCOPE
from fhirapi.services import api_token_create
from intake.emails import LINK_ACTION as INTAKE_ACTION
from messaging.links import make_token
from messaging.models import ScheduledMessage
from patients.models import ErasureRequest, HistoryItem, PatientImport
from scheduling.emails import CANCEL_ACTION, CONFIRM_ACTION, RECALL_BOOK_ACTION
from scheduling.models import WaitlistOffer
from scheduling.waitlist.emails import CLAIM_ACTION
from tests.factories import (
    ConsentRecordFactory,
    HistoryItemFactory,
    PatientFactory,
    ReceptionistFactory,
    SkinProfileFactory,
)
from tests.intake.factories import SubmittedQuestionnaireFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.conftest import NOW
from tests.scheduling.factories import (
    AppointmentFactory,
    PractitionerFactory,
    RoomFactory,
    WaitlistEntryFactory,
    appointment_type,
)
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    CompletedPlanFactory,
    ConsultationFactory,
    SignedSessionFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from treatments.emails import FOLLOW_UP_ACTION
from treatments.models import FollowUpTask, OutcomeRating, Photo, SessionFollowUp
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
CHECKED_APPS = ("patients", "intake", "messaging", "treatments", "scheduling")
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
    def questionnaire(self):
        return SubmittedQuestionnaireFactory(patient=self.patient)

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
    def completed_plan(self):
        return CompletedPlanFactory(doctor=self.doctor, consultation__doctor=self.doctor)

    @cached_property
    def signed_session(self):
        return SignedSessionFactory(plan=self.plan, number=3, doctor=self.doctor)

    @cached_property
    def follow_up_task(self):
        follow_up = SessionFollowUp.objects.create(
            session=self.signed_session, patient=self.patient, answer="concern", concern="Bruise"
        )
        return FollowUpTask.objects.create(follow_up=follow_up, patient=self.patient, doctor=self.doctor)

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
    def erasure_request(self):
        return ErasureRequest.objects.create(
            patient=self.patient,
            patient_number=self.patient.pk,
            source=ErasureRequest.Source.RETENTION,
            outcome=ErasureRequest.Outcome.PENDING,
        )

    @cached_property
    def patient_import(self):
        return PatientImport.objects.create(
            uploaded_by=self.doctor,
            filename="patients.csv",
            content="first name,last name,date of birth\nZoë,Núñez,1988-04-12\n",
            headers=["first name", "last name", "date of birth"],
            row_count=1,
            mapping={"first_name": 0, "last_name": 1, "date_of_birth": 2},
        )

    @cached_property
    def failed_message(self):
        return ScheduledMessageFactory(patient=self.patient, status=ScheduledMessage.Status.FAILED)

    @cached_property
    def waitlist_entry(self):
        return WaitlistEntryFactory(patient=self.patient, date_from=NOW.date(), date_to=NOW.date())

    @cached_property
    def waitlist_offer(self):
        starts_at = NOW.replace(hour=15)
        return WaitlistOffer.objects.create(
            entry=self.waitlist_entry, patient=self.patient, practitioner=self.practitioner,
            appointment_type=appointment_type("Consultation"), starts_at=starts_at,
            ends_at=starts_at + appointment_type("Consultation").duration, wave=1, expires_at=starts_at,
        )  # fmt: skip

    def booking_query(self) -> dict:
        return {
            "patient": self.patient.pk,
            "practitioner": self.practitioner.pk,
            "appointment_type": appointment_type("Consultation").pk,
            "start": NOW.replace(hour=15).isoformat(),
        }

    def slot_query(self) -> dict:
        """A slot picked in the finder before the patient is chosen, and a search for them."""
        return {**self.booking_query(), "patient": "", "q": self.patient.last_name}

    def grid_cell_query(self) -> dict:
        """A free cell of the day grid, as its link gives it."""
        return {"practitioner": self.practitioner.pk, "start": NOW.replace(hour=15).isoformat(), "free": 60}


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


def history_lineage(category: str, code: str) -> Callable[[World], list]:
    return lambda w: [str(HistoryItemFactory(patient=w.patient, category=category, code=code).lineage)]


def signed_session(world: World) -> list:
    return [f"session-{world.signed_session.pk}"]


def outcome_rating(world: World) -> list:
    session = SignedSessionFactory(plan=world.plan, number=4, doctor=world.doctor)
    rating = OutcomeRating.objects.create(
        session=session, rater="doctor", hydration=3, radiance=3, fine_lines=3, satisfaction=4, recorded_by=world.doctor
    )
    return [rating.pk]


def api_token(world: World) -> list:
    token, _secret = api_token_create(name="Lab", scopes=[ALL_SCOPE], created_by=world.doctor)
    return [token.pk]


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
DESK_ADMIN = (LOGIN, FORBIDDEN, OK, OK)  # receptionists and managers
POST_ONLY = (NOT_ALLOWED,) * 4
PUBLIC_ACTION = (ALLOWED,) * 4  # public signed links: the token in the URL is the key
CLINICAL_ACTION = (LOGIN, ALLOWED, FORBIDDEN, FORBIDDEN)
BOOKING_ACTION = (LOGIN, ALLOWED, ALLOWED, FORBIDDEN)
# The FHIR API answers 401 (an OperationOutcome), not the login page, to a caller without a
# session or token; clinical resources are for doctors (and tokens with their scope).
UNAUTHORISED = 401
API_DESK = (UNAUTHORISED, OK, OK, OK)
API_CLINICAL = (UNAUTHORISED, OK, FORBIDDEN, FORBIDDEN)

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
    "healthz": Page(EVERYONE),  # for load balancers: no login, no data
    # Patients: the desk, then clinical data (doctors only)
    "patients:list": Page(STAFF),
    "patients:register": Page(STAFF, post=FORM),
    "patients:detail": Page(STAFF, patient),
    "patients:edit": Page(STAFF, patient, post=FORM),
    "patients:archive": Page(POST_ONLY, patient, post=(LOGIN, FORBIDDEN, ALLOWED, ALLOWED)),
    "patients:restore": Page(POST_ONLY, patient, post=(LOGIN, FORBIDDEN, ALLOWED, ALLOWED)),
    # Only a record made by mistake (no clinical data) may be deleted.
    "patients:delete": Page(POST_ONLY, lambda w: [w.bare_patient.pk], post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)),
    # Erasure on request and the retention review: managers.
    "patients:erase": Page(MANAGER_ONLY, patient, post=FORM),
    "patients:retention": Page(MANAGER_ONLY),
    "patients:retention_purge": Page(
        POST_ONLY, lambda w: [w.erasure_request.pk], post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)
    ),
    # Importing patients from a CSV file: receptionists and managers.
    "patients:import_upload": Page(DESK_ADMIN, post=FORM),
    "patients:import_mapping": Page(DESK_ADMIN, lambda w: [w.patient_import.pk], post=FORM),
    "patients:import_preview": Page(DESK_ADMIN, lambda w: [w.patient_import.pk]),
    "patients:import_run": Page(POST_ONLY, lambda w: [w.patient_import.pk], post=(LOGIN, FORBIDDEN, ALLOWED, ALLOWED)),
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
    # Intake: the patient's questionnaire (public signed link), the doctor's review
    "intake:questionnaire": Page(EVERYONE, lambda w: [make_token(INTAKE_ACTION, w.questionnaire.pk)], post=(409,) * 4),
    "intake:review": Page(CLINICAL, lambda w: [w.patient.pk, w.questionnaire.pk]),
    "intake:answer_decide": Page(
        POST_ONLY, lambda w: [w.patient.pk, w.questionnaire.answers.first().pk], post=CLINICAL_ACTION
    ),
    "patients:history_edit": Page(CLINICAL, patient, post=FORM),
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
    # The maintenance recall worklist: the desk changes it, managers read it, doctors propose.
    "treatments:recall_list": Page(STAFF),
    "treatments:recall_update": Page(POST_ONLY, lambda w: [w.completed_plan.pk], post=BOOKING_ACTION),
    "treatments:recall_propose": Page(POST_ONLY, lambda w: [w.completed_plan.pk], post=CLINICAL_ACTION),
    "treatments:follow_up_task_done": Page(POST_ONLY, lambda w: [w.follow_up_task.pk], post=CLINICAL_ACTION),
    "treatments:public_follow_up": Page(
        EVERYONE, lambda w: [make_token(FOLLOW_UP_ACTION, w.signed_session.pk)], post=PUBLIC_ACTION
    ),
    # Scheduling: calendars for all staff, booking for doctors and receptionists
    "scheduling:day": Page(STAFF),
    "scheduling:today": Page(STAFF),
    "scheduling:week": Page(STAFF, lambda w: [w.practitioner.pk]),
    "scheduling:rooms": Page(STAFF),
    "scheduling:grid_book": Page(BOOKING, query=World.grid_cell_query),
    "scheduling:find": Page(STAFF),
    "scheduling:book": Page(BOOKING, query=World.booking_query, post=FORM),
    "scheduling:book_choose_patient": Page(BOOKING, query=World.slot_query),
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
    # FHIR API (read only: a POST answers 405), API tokens (managers), subject access export
    "fhirapi:metadata": Page(EVERYONE),
    "fhirapi:unknown": Page((404,) * 4, lambda w: ["Basic/1"]),
    "fhirapi:patient_search": Page(API_DESK),
    "fhirapi:patient_read": Page(API_DESK, patient),
    "fhirapi:patient_everything": Page(API_DESK, patient),
    "fhirapi:appointment_search": Page(API_DESK),
    "fhirapi:appointment_read": Page(API_DESK, appointment),
    "fhirapi:practitioner_search": Page(API_DESK),
    "fhirapi:practitioner_read": Page(API_DESK, lambda w: [w.practitioner.user.pk]),
    "fhirapi:allergyintolerance_search": Page(API_CLINICAL),
    "fhirapi:allergyintolerance_read": Page(API_CLINICAL, lambda w: [str(w.history_item.lineage)]),
    "fhirapi:condition_search": Page(API_CLINICAL),
    "fhirapi:condition_read": Page(API_CLINICAL, history_lineage(HistoryItem.Category.CONDITION, "diabetes")),
    "fhirapi:medicationstatement_search": Page(API_CLINICAL),
    "fhirapi:medicationstatement_read": Page(
        API_CLINICAL, history_lineage(HistoryItem.Category.MEDICATION, "anticoagulant")
    ),
    "fhirapi:procedure_search": Page(API_CLINICAL),
    "fhirapi:procedure_read": Page(API_CLINICAL, signed_session),
    "fhirapi:observation_search": Page(API_CLINICAL),
    "fhirapi:observation_read": Page(API_CLINICAL, outcome_rating),
    "fhirapi:consent_search": Page(API_CLINICAL),
    "fhirapi:consent_read": Page(API_CLINICAL, lambda w: [w.consent.pk]),
    "fhirapi:careplan_search": Page(API_CLINICAL),
    "fhirapi:careplan_read": Page(API_CLINICAL, lambda w: [w.plan.pk]),
    "fhirapi:token_list": Page(MANAGER_ONLY),
    "fhirapi:token_create": Page(MANAGER_ONLY, post=FORM),
    "fhirapi:token_revoke": Page(POST_ONLY, api_token, post=(LOGIN, FORBIDDEN, FORBIDDEN, ALLOWED)),
    # Doctors and managers answer a patient's subject access request.
    "fhirapi:patient_export": Page(POST_ONLY, patient, post=(LOGIN, ALLOWED, FORBIDDEN, ALLOWED)),
    # The waiting list: the desk sees it, doctors and receptionists add and remove; the offer's
    # "take this slot" link is public (the signed token is the key).
    "scheduling:waitlist": Page(STAFF),
    "scheduling:waitlist_add": Page(BOOKING, query=lambda w: {"patient": w.patient.pk}, post=FORM),
    "scheduling:waitlist_remove": Page(POST_ONLY, lambda w: [w.waitlist_entry.pk], post=BOOKING_ACTION),
    "scheduling:waitlist_claim": Page(
        EVERYONE, lambda w: [make_token(CLAIM_ACTION, w.waitlist_offer.pk)], post=PUBLIC_ACTION
    ),
    "scheduling:public_recall_book": Page(
        EVERYONE, lambda w: [make_token(RECALL_BOOK_ACTION, w.completed_plan.pk)], post=PUBLIC_ACTION
    ),
    # Reports: managers only
    "reports:index": Page(MANAGER_ONLY),
    "reports:csv": Page(MANAGER_ONLY, lambda w: ["no-shows"]),
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
