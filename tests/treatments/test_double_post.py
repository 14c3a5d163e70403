"""A form posted twice (a double click, "send again" after the back button) writes its record
once, and a state change checks the current state (issue 18). Each second post is answered
with a message and the record that stands, never a 500, and changes no row."""

import datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Actor
from tests.factories import ConsentRecordFactory, PatientFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    CompletedPlanFactory,
    ConsultationFactory,
    ProductFactory,
    SignedConsultationFactory,
    SignedSessionFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from tests.treatments.test_views import consultation_data, plan_data, png_bytes, session_data
from treatments import services
from treatments.models import (
    Consultation,
    ConsultationAddendum,
    OutcomeRating,
    Photo,
    SessionAddendum,
    TreatmentPlan,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"treatments:{name}", args=args)


def said(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


# One draft session per plan -----------------------------------------------------------------


def test_the_new_session_form_posted_twice_records_one_draft(doctor_client, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    target = url("session_create", plan.patient.pk, plan.pk)
    first = doctor_client.post(target, session_data())
    draft = TreatmentSession.objects.get()
    assert first.url == draft.get_absolute_url()

    second = doctor_client.post(target, session_data())
    assert second.status_code == 302
    assert second.url == draft.get_absolute_url()
    assert "Session 1 is a draft: sign or discard it before recording another" in said(second)
    assert list(TreatmentSession.objects.values_list("pk", "number")) == [(draft.pk, 1)]


def test_the_new_session_form_opens_the_draft_left_unsigned(doctor_client, doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SignedSessionFactory(plan=plan, number=1)
    draft = TreatmentSessionFactory(plan=plan, number=2)
    response = doctor_client.get(url("session_create", plan.patient.pk, plan.pk))
    assert response.status_code == 302
    assert response.url == draft.get_absolute_url()
    assert "Session 2 is a draft" in said(response)


def test_the_service_records_no_second_draft(doctor):
    plan = ActivePlanFactory(doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    fields = {
        "performed_at": timezone.now(), "numbing_applied_at": None, "technique": "needle_syringe",
        "areas": ["forehead"], "injection_sites": "", "duration_minutes": 30, "pain_score": 2, "reactions": [],
        "reactions_other": "", "aftercare_given": "", "notes": "",
    }  # fmt: skip
    draft = services.session_record(plan=plan, fields=fields, usages=[], actor=Actor(user=doctor))
    with pytest.raises(services.AlreadyRecorded) as already:
        services.session_record(plan=plan, fields=fields, usages=[], actor=Actor(user=doctor))
    assert already.value.existing == draft
    assert TreatmentSession.objects.count() == 1
    # Once signed, the next session is recorded.
    TreatmentSession.objects.filter(pk=draft.pk).update(status="signed", signed_at=timezone.now())
    assert services.session_record(plan=plan, fields=fields, usages=[], actor=Actor(user=doctor)).number == 2


# Addenda ------------------------------------------------------------------------------------


def test_a_consultation_addendum_posted_twice_is_added_once(doctor_client, doctor):
    consultation = SignedConsultationFactory(doctor=doctor)
    target = url("consultation_addendum", consultation.patient.pk, consultation.pk)
    doctor_client.post(target, {"text": "Patient mentions a nickel allergy."})
    second = doctor_client.post(target, {"text": "  Patient mentions a nickel allergy. "})
    assert second.status_code == 302
    assert second.url == consultation.get_absolute_url()
    assert "This addendum was added a moment ago; it was not added twice." in said(second)
    assert ConsultationAddendum.objects.count() == 1


def test_a_session_addendum_posted_twice_is_added_once(doctor_client, doctor):
    session = SignedSessionFactory(doctor=doctor)
    target = url("session_addendum", session.patient.pk, session.pk)
    doctor_client.post(target, {"text": "Bruise on the left cheek."})
    second = doctor_client.post(target, {"text": "Bruise on the left cheek."})
    assert second.status_code == 302
    assert second.url == session.get_absolute_url()
    assert "not added twice" in said(second)
    assert SessionAddendum.objects.count() == 1


def test_the_same_addendum_later_or_another_one_now_is_added(doctor, other_doctor):
    session = SignedSessionFactory(doctor=doctor)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        services.session_addendum_add(session=session, text="Swelling gone.", actor=Actor(user=doctor))
        services.session_addendum_add(session=session, text="Swelling gone!", actor=Actor(user=doctor))
        services.session_addendum_add(session=session, text="Swelling gone.", actor=Actor(user=other_doctor))
        traveller.shift(services.DOUBLE_POST_WINDOW + datetime.timedelta(seconds=1))
        services.session_addendum_add(session=session, text="Swelling gone.", actor=Actor(user=doctor))
    assert SessionAddendum.objects.count() == 4


# Consultations and plans --------------------------------------------------------------------


def test_a_consultation_posted_twice_is_one_draft(doctor_client, doctor):
    patient = PatientFactory()
    target = url("consultation_create", patient.pk)
    doctor_client.post(target, consultation_data())
    draft = Consultation.objects.get()
    second = doctor_client.post(target, consultation_data())
    assert second.status_code == 302
    assert second.url == draft.get_absolute_url()
    assert "This consultation was saved a moment ago" in said(second)
    assert Consultation.objects.count() == 1
    # A different consultation is recorded.
    doctor_client.post(target, consultation_data(goals="Fewer fine lines"))
    assert Consultation.objects.count() == 2


def test_a_plan_posted_twice_is_proposed_once(doctor_client, doctor):
    consultation = SignedConsultationFactory(doctor=doctor)
    product = ProductFactory()
    target = url("plan_create", consultation.patient.pk, consultation.pk)
    doctor_client.post(target, plan_data(product))
    plan = TreatmentPlan.objects.get()
    second = doctor_client.post(target, plan_data(product))
    assert second.status_code == 302
    assert second.url == plan.get_absolute_url()
    assert "This plan was proposed a moment ago" in said(second)
    assert TreatmentPlan.objects.count() == 1
    # Another cocktail is another plan.
    doctor_client.post(target, plan_data(product, amount_1="3"))
    assert TreatmentPlan.objects.count() == 2


# Ratings and photos -------------------------------------------------------------------------


def test_a_rating_posted_twice_is_recorded_once(doctor_client):
    session = SignedSessionFactory()
    data = {"rater": "doctor", "hydration": "4", "radiance": "5", "fine_lines": "3", "satisfaction": "5"}
    target = url("session_rating", session.patient.pk, session.pk)
    doctor_client.post(target, data)
    second = doctor_client.post(target, data)
    assert second.status_code == 302
    assert second.url == session.get_absolute_url()
    assert "This rating was recorded a moment ago" in said(second)
    assert OutcomeRating.objects.count() == 1


def test_a_photo_uploaded_twice_is_stored_once(doctor_client):
    session = SignedSessionFactory()
    ConsentRecordFactory(patient=session.patient, procedure="photography")
    target = url("photo_upload", session.patient.pk, session.pk)

    def upload(size=(40, 30)):
        image = SimpleUploadedFile("face.png", png_bytes(size=size), "image/png")
        return doctor_client.post(target, {"kind": "before", "view": "front", "image": image})

    upload()
    second = upload()
    assert second.status_code == 302
    assert "This photo was uploaded a moment ago; it was not stored twice." in said(second)
    assert Photo.objects.count() == 1
    upload(size=(41, 30))  # another picture
    assert Photo.objects.count() == 2


# State checks ---------------------------------------------------------------------------------


def test_a_completed_plan_is_not_cancelled(doctor_client):
    plan = CompletedPlanFactory()
    page = doctor_client.get(plan.get_absolute_url())
    assert page.context["cancel_form"] is None
    response = doctor_client.post(url("plan_cancel", plan.patient.pk, plan.pk), {"reason": "Stale page"})
    assert response.status_code == 302
    assert "a completed plan cannot be cancelled" in said(response)
    plan.refresh_from_db()
    assert (plan.status, plan.cancelled_at, plan.cancellation_reason) == ("completed", None, "")


def test_a_cancelled_plan_is_not_cancelled_again(doctor_client):
    plan = ActivePlanFactory()
    target = url("plan_cancel", plan.patient.pk, plan.pk)
    doctor_client.post(target, {"reason": "Moved away"})
    response = doctor_client.post(target, {"reason": "Double click"})
    assert response.status_code == 302
    assert "This plan is already cancelled." in said(response)
    plan.refresh_from_db()
    assert plan.cancellation_reason == "Moved away"


def test_the_cancel_service_refuses_a_completed_plan_read_from_a_stale_copy(doctor):
    plan = ActivePlanFactory()
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status="completed", completed_at=timezone.now(), maintenance_due_on=timezone.localdate()
    )
    with pytest.raises(ValidationError, match="a completed plan cannot be cancelled"):
        services.plan_cancel(plan=plan, reason="Stale", actor=Actor(user=doctor))
    assert TreatmentPlan.objects.get(pk=plan.pk).status == "completed"


@pytest.mark.parametrize("factory", [ActivePlanFactory, CompletedPlanFactory])
def test_a_started_plan_is_not_started_again(doctor_client, factory):
    plan = factory()
    before = TreatmentPlan.objects.values().get(pk=plan.pk)
    response = doctor_client.post(url("plan_activate", plan.patient.pk, plan.pk))
    assert response.status_code == 302
    assert "Only a proposed plan can be started" in said(response)
    assert TreatmentPlan.objects.values().get(pk=plan.pk) == before


def test_a_started_plan_is_not_edited(doctor_client):
    plan = ActivePlanFactory()
    product = plan.plan_products.get().product
    response = doctor_client.post(url("plan_edit", plan.patient.pk, plan.pk), plan_data(product, session_count="6"))
    assert response.status_code == 302
    assert "Only a proposed plan can be changed" in said(response)
    assert TreatmentPlan.objects.get(pk=plan.pk).session_count == 5


def test_signed_records_answer_a_second_sign_or_discard_with_a_message(doctor_client, doctor):
    session = SignedSessionFactory(doctor=doctor)
    before = TreatmentSession.objects.values().get(pk=session.pk)
    response = doctor_client.post(url("session_sign", session.patient.pk, session.pk), {"confirmed": "on"})
    assert "signed and locked" in said(response)
    response = doctor_client.post(url("session_discard", session.patient.pk, session.pk))
    assert "signed and locked" in said(response)
    assert TreatmentSession.objects.values().get(pk=session.pk) == before

    consultation = SignedConsultationFactory(doctor=doctor)
    signed_at = consultation.signed_at
    response = doctor_client.post(url("consultation_sign", consultation.patient.pk, consultation.pk))
    assert "signed and locked" in said(response)
    consultation.refresh_from_db()
    assert consultation.signed_at == signed_at


def test_a_draft_consultation_gets_no_plan(doctor_client, doctor):
    consultation = ConsultationFactory(doctor=doctor)
    response = doctor_client.post(
        url("plan_create", consultation.patient.pk, consultation.pk), plan_data(ProductFactory())
    )
    assert response.status_code == 302
    assert not TreatmentPlan.objects.exists()


def test_a_proposed_plan_cancelled_by_the_desk_page_left_open_changes_nothing(doctor_client):
    plan = TreatmentPlanFactory()
    TreatmentPlan.objects.filter(pk=plan.pk).update(
        status="cancelled", cancelled_at=timezone.now(), cancellation_reason="Patient phoned"
    )
    response = doctor_client.post(url("plan_activate", plan.patient.pk, plan.pk))
    assert response.status_code == 302
    assert TreatmentPlan.objects.get(pk=plan.pk).status == "cancelled"
