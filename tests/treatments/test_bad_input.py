"""Malformed input on the treatment pages (issue 18): a form error, a 400 or the value
ignored, never an exception, and no row written."""

import pytest
from django.urls import reverse

from tests.factories import SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    ProductFactory,
    SignedConsultationFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from tests.treatments.test_views import plan_data, session_data
from treatments.models import TreatmentPlan, TreatmentSession
from treatments.templatetags.treatment_tags import face_diagram

pytestmark = pytest.mark.django_db

BAD_IDS = [
    "",
    "abc",
    "-1",
    "0",
    "1.5",
    "²",
    "１",
    " 1",
    str(2**31),
    str(2**63),
    str(2**64),
    "9" * 100_000,
    "1e3",
    "0x1",
]
BAD_AREAS = [[""], ["nope"], ["forehead", ""], ["x" * 100_000], ["FOREHEAD"], ["forehead\x00"]]


def url(name, *args):
    return reverse(f"treatments:{name}", args=args)


# The face diagram -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "selected", [[""], ["nope"], ["x" * 100_000], "forehead", None, [None], [1, 2], [["forehead"]], ["forehead", ""]]
)
def test_face_diagram_draws_whatever_areas_it_is_given(selected):
    svg = str(face_diagram(selected, "areas"))
    assert svg.startswith("<svg")
    assert "nope" not in svg
    assert "x" * 100 not in svg


def test_face_diagram_marks_and_names_the_known_areas_among_unknown_ones():
    svg = str(face_diagram(["forehead", "", "nope"], "areas"))
    assert 'aria-label="Face diagram of the chosen areas: Forehead"' in svg
    assert svg.count("is-selected") == 1


# Areas on the plan and session forms --------------------------------------------------------


@pytest.mark.parametrize("areas", BAD_AREAS)
def test_plan_form_refuses_unknown_areas_and_shows_the_form_again(doctor_client, doctor, areas):
    consultation = SignedConsultationFactory(doctor=doctor)
    response = doctor_client.post(
        url("plan_create", consultation.patient.pk, consultation.pk), plan_data(ProductFactory(), areas=areas)
    )
    assert response.status_code == 200
    assert "is not one of the facial areas" in response.context["form"].errors["areas"][0]
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize("areas", BAD_AREAS)
def test_plan_edit_refuses_unknown_areas(doctor_client, doctor, areas):
    plan = TreatmentPlanFactory(doctor=doctor, consultation__doctor=doctor)
    product = plan.plan_products.get().product
    response = doctor_client.post(url("plan_edit", plan.patient.pk, plan.pk), plan_data(product, areas=areas))
    assert response.status_code == 200
    assert response.context["form"].errors["areas"]
    plan.refresh_from_db()
    assert plan.areas == ["cheek_left", "cheek_right", "forehead"]


@pytest.mark.parametrize("areas", BAD_AREAS)
def test_session_form_refuses_unknown_areas(doctor_client, doctor, areas):
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    response = doctor_client.post(url("session_create", plan.patient.pk, plan.pk), session_data(areas=areas))
    assert response.status_code == 200
    assert "is not one of the facial areas" in response.context["form"].errors["areas"][0]
    assert not TreatmentSession.objects.exists()


@pytest.mark.parametrize("areas", BAD_AREAS)
def test_session_edit_refuses_unknown_areas(doctor_client, doctor, areas):
    session = TreatmentSessionFactory(doctor=doctor, plan__doctor=doctor, plan__consultation__doctor=doctor)
    response = doctor_client.post(url("session_edit", session.patient.pk, session.pk), session_data(areas=areas))
    assert response.status_code == 200
    assert response.context["form"].errors["areas"]
    session.refresh_from_db()
    assert session.areas == ["cheek_left", "cheek_right"]


# Ids in the query string ------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_IDS)
def test_plan_safety_preview_ignores_ids_that_are_not_products(doctor_client, doctor, value):
    consultation = SignedConsultationFactory(doctor=doctor)
    response = doctor_client.get(
        url("plan_safety_preview", consultation.patient.pk, consultation.pk),
        {"product_1": value, "product_2": value, "numbing_cream": value, "product_": value},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize("name", ["before", "after", "left", "right"])
def test_photo_compare_refuses_ids_that_are_not_the_courses_photos(doctor_client, doctor, name, value):
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    response = doctor_client.get(url("photo_compare", plan.patient.pk, plan.pk), {name: value})
    assert response.status_code in (200, 400)


def test_plan_safety_preview_checks_the_real_products_next_to_garbage(doctor_client, doctor):
    from patients.models import HistoryItem
    from tests.factories import HistoryItemFactory
    from tests.treatments.factories import IngredientFactory

    consultation = SignedConsultationFactory(doctor=doctor)
    SkinProfileFactory(patient=consultation.patient)
    HistoryItemFactory(patient=consultation.patient, category="allergy", code=HistoryItem.Code.INGREDIENT, name="DMAE")
    product = ProductFactory(ingredients=[IngredientFactory(name="DMAE 3% test")])
    page = doctor_client.get(
        url("plan_safety_preview", consultation.patient.pk, consultation.pk),
        {"product_1": "9" * 100_000, "product_2": "²", "product_3": str(product.pk), "numbing_cream": "\x00"},
    ).content.decode()
    assert "Blocks treatment" in page
    assert "The cocktail contains DMAE 3% test." in page


@pytest.mark.parametrize("value", BAD_IDS)
def test_list_pages_take_any_page_number(doctor_client, manager_client, value):
    from tests.treatments.factories import BatchFactory

    assert doctor_client.get(url("recall_list"), {"page": value}).status_code == 200
    batch = BatchFactory()
    assert manager_client.get(url("batch_trace", batch.pk), {"page": value}).status_code == 200


@pytest.mark.parametrize("number", [2**31, 2**63, 2**64, 10**30])
def test_ids_in_the_address_beyond_any_row_are_not_found(doctor_client, doctor, number):
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    patient = plan.patient.pk
    for target in (
        f"/treatments/patients/{number}/plans/{plan.pk}/",
        f"/treatments/patients/{patient}/plans/{number}/",
        f"/treatments/patients/{patient}/sessions/{number}/",
        f"/treatments/patients/{patient}/consultations/{number}/",
        f"/treatments/patients/{patient}/photos/{number}/",
        f"/treatments/patients/{patient}/plans/{number}/photos/",
        f"/treatments/formulary/batches/{number}/",
        f"/treatments/recalls/{number}/propose/",
    ):
        method = doctor_client.post if target.endswith("propose/") else doctor_client.get
        assert method(target).status_code == 404, target


NUMBERS = ["9" * 100_000, str(2**63), "-1", "NaN", "Infinity", "1e400", "²"]


@pytest.mark.parametrize("value", NUMBERS)
@pytest.mark.parametrize("name", ["session_count", "maintenance_interval_months", "product_1", "amount_1", "product_2"])
def test_plan_form_numbers_out_of_any_range_are_form_errors(doctor_client, doctor, name, value):
    consultation = SignedConsultationFactory(doctor=doctor)
    data = plan_data(ProductFactory(), **{name: value})
    response = doctor_client.post(url("plan_create", consultation.patient.pk, consultation.pk), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not TreatmentPlan.objects.exists()


@pytest.mark.parametrize("value", NUMBERS)
@pytest.mark.parametrize("name", ["pain_score", "duration_minutes", "batch_1", "batch_amount_1"])
def test_session_form_numbers_out_of_any_range_are_form_errors(doctor_client, doctor, name, value):
    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    SkinProfileFactory(patient=plan.patient)
    data = session_data(**{name: value})
    if name == "batch_1":
        data["batch_amount_1"] = "1"
    response = doctor_client.post(url("session_create", plan.patient.pk, plan.pk), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not TreatmentSession.objects.exists()
