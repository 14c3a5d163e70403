"""Clinical record dates within the clinic's records (clinic/dates.py): a consultation or
session in year 1 or in the future, or a plan starting 9999-12-31, is refused by the form and
by the service, and nothing is saved."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic.audit import Actor
from tests.factories import PatientFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    ConsultationFactory,
    ProductFactory,
    SignedConsultationFactory,
    TreatmentPlanFactory,
)
from tests.treatments.test_views import consultation_data, plan_data, session_data, url
from treatments import services
from treatments.models import Consultation, TreatmentPlan, TreatmentSession

pytestmark = pytest.mark.django_db
FAR_DATES = ["0001-01-01", "1999-12-31", "9999-12-31", "2026-02-30"]


@pytest.mark.parametrize("value", FAR_DATES)
def test_consultation_date_outside_the_records_is_a_form_error(doctor_client, value):
    patient = PatientFactory()
    response = doctor_client.post(url("consultation_create", patient.pk), consultation_data(consulted_on=value))
    assert response.status_code == 200
    assert response.context["form"].errors["consulted_on"]
    assert not Consultation.objects.exists()


def test_consultation_service_refuses_year_1(doctor):
    consultation = ConsultationFactory(doctor=doctor)
    before = consultation.consulted_on
    with pytest.raises(ValidationError) as refused:
        services.consultation_update(
            consultation=consultation, fields={"consulted_on": datetime.date(1, 1, 1)}, actor=Actor(user=doctor)
        )
    assert "consulted_on" in refused.value.message_dict
    consultation.refresh_from_db()
    assert consultation.consulted_on == before


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2026-02-30"])
def test_plan_start_far_off_is_a_form_error(doctor_client, value):
    consultation = SignedConsultationFactory()
    response = doctor_client.post(
        url("plan_create", consultation.patient.pk, consultation.pk), plan_data(ProductFactory(), starts_on=value)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["starts_on"]
    assert not TreatmentPlan.objects.exists()


def test_plan_service_refuses_a_start_on_9999_12_31(doctor):
    plan = TreatmentPlanFactory(doctor=doctor)
    before = plan.starts_on
    fields = {name: getattr(plan, name) for name in services.PLAN_FIELDS}
    cocktail = [services.CocktailItem(item.product, item.amount_per_session) for item in plan.plan_products.all()]
    with pytest.raises(ValidationError) as refused:
        services.plan_update(
            plan=plan, fields={**fields, "starts_on": datetime.date(9999, 12, 31)}, cocktail=cocktail,
            actor=Actor(user=doctor),
        )  # fmt: skip
    assert "starts_on" in refused.value.message_dict
    plan.refresh_from_db()
    assert plan.starts_on == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("performed_at", "0001-01-01T00:00"),
        ("performed_at", "9999-12-31T23:59"),
        ("performed_at", "1999-12-31T12:00"),
        ("numbing_applied_at", "0001-01-01T00:00"),
    ],
)
def test_session_time_outside_the_records_is_a_form_error(doctor_client, field, value):
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    response = doctor_client.post(url("session_create", plan.patient.pk, plan.pk), session_data(**{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not TreatmentSession.objects.exists()


def test_session_service_refuses_year_1():
    session = TreatmentSession(
        performed_at=datetime.datetime(1, 1, 1, 12, tzinfo=datetime.UTC), areas=["cheek_left"], reactions=[]
    )
    with pytest.raises(ValidationError) as refused:
        services._check_session_fields(session)
    assert "performed_at" in refused.value.message_dict
    session.performed_at = timezone.now()
    services._check_session_fields(session)
