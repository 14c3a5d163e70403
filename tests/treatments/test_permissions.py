"""What each role sees of treatments beyond the page table of tests/test_permissions.py: a
record of another patient is not found, the patient page panel and the menu follow the role."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.treatments.factories import ActivePlanFactory

pytestmark = pytest.mark.django_db


def test_record_of_another_patient_is_not_found(client, doctor):
    other = ActivePlanFactory()
    client.force_login(doctor)
    url = reverse("treatments:plan_detail", args=[other.patient.pk + 1000, other.pk])
    assert client.get(url).status_code == 404


def test_treatments_panel_is_empty_for_reception(client, receptionist, doctor):
    plan = ActivePlanFactory(starts_on=timezone.localdate())
    client.force_login(receptionist)
    page = client.get(reverse("patients:detail", args=[plan.patient.pk])).content.decode()
    assert "Treatment timeline" not in page
    client.force_login(doctor)
    page = client.get(reverse("patients:detail", args=[plan.patient.pk])).content.decode()
    assert "Treatment timeline" in page
    assert "5-session course" in page


def test_menu_shows_formulary_to_doctors_and_managers(client, doctor, receptionist, manager):
    for user, shown in ((doctor, True), (receptionist, False), (manager, True)):
        client.force_login(user)
        page = client.get(reverse("home")).content.decode()
        assert ("Formulary" in page) is shown, user.username
