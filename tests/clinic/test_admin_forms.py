"""The admin forms a manager reaches answer bad input with a form error, never a 500, and
follow the clinic's text rules."""

import pytest
from django.contrib import admin
from django.urls import reverse

from clinic.admin import ClinicModelAdmin
from scheduling.models import Practitioner
from tests.factories import DoctorFactory
from tests.treatments.factories import BatchFactory, ProductFactory
from treatments.models import Batch, Product

pytestmark = pytest.mark.django_db


def product_post(**overrides) -> dict:
    data = {
        "name": "Hyaluronic boost",
        "manufacturer": "Dermalab",
        "presentation": "5 vials of 5 ml",
        "unit": "ml",
        "is_active": "on",
        "low_stock_threshold": "10",
        "notes": "",
        "batches-TOTAL_FORMS": "0",
        "batches-INITIAL_FORMS": "0",
        "batches-MIN_NUM_FORMS": "0",
        "batches-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def batch_rows(*lots) -> dict:
    data = {"batches-TOTAL_FORMS": str(len(lots))}
    for index, lot in enumerate(lots):
        data.update({
            f"batches-{index}-lot_number": lot, f"batches-{index}-expiry_date": "2031-01-01",
            f"batches-{index}-quantity_in_stock": "5", f"batches-{index}-received_on": "2026-11-01",
        })  # fmt: skip
    return data


def errors_of(response) -> str:
    return str(response.context["errors"]) + str(response.context["inline_admin_formsets"][0].formset.non_form_errors())


def test_product_with_the_name_and_maker_of_another_is_a_form_error(manager_client):
    ProductFactory(name="Hyaluronic boost", manufacturer="Dermalab")
    response = manager_client.post(reverse("admin:treatments_product_add"), product_post())
    assert response.status_code == 200
    assert "already exists" in str(response.context["errors"])
    assert Product.objects.filter(name="Hyaluronic boost").count() == 1


def test_product_with_two_batches_of_one_lot_is_a_form_error(manager_client):
    response = manager_client.post(reverse("admin:treatments_product_add"), product_post(**batch_rows("L1", "L1")))
    assert response.status_code == 200
    assert not Product.objects.filter(name="Hyaluronic boost").exists()


def test_new_batch_with_the_lot_of_an_existing_one_is_a_form_error(manager_client):
    batch = BatchFactory(lot_number="L7")
    product = batch.product
    url = reverse("admin:treatments_product_change", args=[product.pk])
    data = product_post(name=product.name, manufacturer=product.manufacturer, **batch_rows("L7"))
    data.update({"batches-INITIAL_FORMS": "0"})
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "already exists" in errors_of(response)
    assert Batch.objects.filter(product=product, lot_number="L7").count() == 1


def test_product_name_of_invisible_characters_is_empty(manager_client):
    response = manager_client.post(reverse("admin:treatments_product_add"), product_post(name="\u200b\u200d"))
    assert response.status_code == 200
    assert "This field is required." in str(response.context["errors"])


def test_product_notes_refuse_control_characters(manager_client):
    response = manager_client.post(reverse("admin:treatments_product_add"), product_post(notes="fine\x1b[31m"))
    assert response.status_code == 200
    assert "U+001B" in str(response.context["errors"])
    assert not Product.objects.filter(name="Hyaluronic boost").exists()


@pytest.mark.parametrize("user", ["abc", "1e3", "%00", "99999999999999999999", "-1"])
def test_practitioner_with_a_user_that_is_not_an_id_is_a_form_error(manager_client, user):
    DoctorFactory()
    data = {
        "user": user, "is_active": "on", "colour": "#6f42c1", "default_room": "",
        "working_hours-TOTAL_FORMS": "0", "working_hours-INITIAL_FORMS": "0",
        "time_off-TOTAL_FORMS": "0", "time_off-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = manager_client.post(reverse("admin:scheduling_practitioner_add"), data)
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["errors"])
    assert not Practitioner.objects.exists()


@pytest.mark.parametrize("term", ["%00", "x%00y", "%FF", "%E2%80%8B", "x" * 5000])
def test_the_practitioner_forms_user_search_answers_odd_terms(manager_client, term):
    url = reverse("admin:autocomplete")
    query = f"app_label=scheduling&model_name=practitioner&field_name=user&term={term}"
    for page in ("", "&page=abc", "&page=99999999999999999999"):
        response = manager_client.get(f"{url}?{query}{page}")
        assert response.status_code < 500, (term, page)


# Every add form a manager reaches, each box given something odd ------------------------------

ODD_VALUES = ["\x00", "abc", "-1", "99999999999999999999", "1e400", "NaN", "9999-12-31", "\u200b", "\ufffd", "x" * 5000]


def add_form_post(response) -> dict:
    """What the add page would post untouched: every field's initial value, inline management forms."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    names = list(form.fields)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        # One new row of each inline, so that its boxes are tried too.
        data[management.add_prefix("TOTAL_FORMS")] = "1"
        row = formset._construct_form(0)
        names += [row.add_prefix(name) for name in row.fields if name not in {"id", "DELETE", formset.fk.name}]
    return data, names


@pytest.mark.parametrize(
    "model_admin",
    [model_admin for model_admin in admin.site._registry.values() if isinstance(model_admin, ClinicModelAdmin)],
    ids=str,
)
def test_manager_add_forms_answer_odd_values_with_form_errors(manager_client, model_admin):
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    response = manager_client.get(url)
    if response.status_code != 200:
        pytest.skip("a manager cannot add these")
    DoctorFactory()
    initial, fields = add_form_post(response)
    for name in fields:
        for value in ODD_VALUES:
            response = manager_client.post(url, {**initial, name: value})
            assert response.status_code < 500, (name, value)
