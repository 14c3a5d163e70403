"""Each role against each treatments page: doctors only for clinical pages, managers and
doctors for the formulary; anonymous visitors go to the login page; state changes are POST."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ConsentRecordFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    SignedSessionFactory,
    TreatmentPlanFactory,
    TreatmentSessionFactory,
)
from treatments.models import Photo

pytestmark = pytest.mark.django_db

OK, FORBIDDEN = 200, 403

# page -> expected status for (doctor, receptionist, manager)
MATRIX = {
    "treatments:timeline": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:consultation_create": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:consultation_detail": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:plan_safety_preview": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:plan_detail": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:plan_edit": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:plan_print": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:aftercare_print": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:photo_compare": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:session_create": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:session_detail": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:session_edit": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:photo_file": (OK, FORBIDDEN, FORBIDDEN),
    "treatments:formulary": (OK, FORBIDDEN, OK),
}
POSTS = [
    "treatments:consultation_sign",
    "treatments:consultation_addendum",
    "treatments:plan_activate",
    "treatments:plan_cancel",
    "treatments:session_sign",
    "treatments:session_addendum",
    "treatments:session_discard",
    "treatments:session_rating",
    "treatments:photo_upload",
]


@pytest.fixture
def urls(doctor):
    from io import BytesIO

    from PIL import Image

    from clinic.audit import Actor
    from treatments.photos import photo_upload

    plan = ActivePlanFactory(doctor=doctor, consultation__doctor=doctor)
    SignedSessionFactory(plan=plan, number=1, doctor=doctor)
    draft = TreatmentSessionFactory(plan=plan, number=2, doctor=doctor)
    ConsentRecordFactory(patient=plan.patient, procedure="photography")
    buffer = BytesIO()
    Image.new("RGB", (10, 10), "white").save(buffer, format="PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = photo_upload(
        session=draft,
        upload=SimpleUploadedFile("a.png", buffer.getvalue(), "image/png"),
        kind=Photo.Kind.BEFORE,
        view="front",
        actor=Actor(user=doctor),
    )
    proposed = TreatmentPlanFactory(consultation=plan.consultation)
    patient = plan.patient
    p = patient.pk
    args = {
        "treatments:timeline": [p],
        "treatments:consultation_create": [p],
        "treatments:consultation_detail": [p, plan.consultation.pk],
        "treatments:consultation_sign": [p, plan.consultation.pk],
        "treatments:plan_safety_preview": [p, plan.consultation.pk],
        "treatments:consultation_addendum": [p, plan.consultation.pk],
        "treatments:plan_detail": [p, plan.pk],
        "treatments:plan_edit": [p, proposed.pk],
        "treatments:plan_print": [p, plan.pk],
        "treatments:aftercare_print": [p, plan.pk],
        "treatments:photo_compare": [p, plan.pk],
        "treatments:plan_activate": [p, plan.pk],
        "treatments:plan_cancel": [p, plan.pk],
        "treatments:session_create": [p, plan.pk],
        "treatments:session_detail": [p, draft.pk],
        "treatments:session_edit": [p, draft.pk],
        "treatments:session_sign": [p, draft.pk],
        "treatments:session_addendum": [p, draft.pk],
        "treatments:session_discard": [p, draft.pk],
        "treatments:session_rating": [p, draft.pk],
        "treatments:photo_upload": [p, draft.pk],
        "treatments:photo_file": [p, photo.pk],
        "treatments:formulary": [],
    }
    return {name: reverse(name, args=value) for name, value in args.items()}


@pytest.mark.parametrize("name", MATRIX)
def test_permission_matrix(client, doctor, receptionist, manager, urls, name):
    for user, expected in zip((doctor, receptionist, manager), MATRIX[name], strict=True):
        client.force_login(user)
        assert client.get(urls[name]).status_code == expected, f"{user.username} on {name}"


@pytest.mark.parametrize("name", [*MATRIX, *POSTS])
def test_anonymous_is_sent_to_login(client, urls, name):
    response = client.get(urls[name]) if name in MATRIX else client.post(urls[name])
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", POSTS)
def test_state_changes_refuse_get(client, doctor, urls, name):
    client.force_login(doctor)
    assert client.get(urls[name]).status_code == 405


@pytest.mark.parametrize("name", POSTS)
def test_receptionist_cannot_post(client, receptionist, urls, name):
    client.force_login(receptionist)
    assert client.post(urls[name], {"reason": "x", "text": "x"}).status_code == 403


def test_record_of_another_patient_is_not_found(client, doctor, urls):
    other = ActivePlanFactory()
    client.force_login(doctor)
    url = reverse("treatments:plan_detail", args=[other.patient.pk + 1000, other.pk])
    assert client.get(url).status_code == 404


def test_treatments_panel_is_empty_for_reception(client, receptionist, doctor, urls):
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
