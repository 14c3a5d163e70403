import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from patients.models import HistoryItem, SkinProfile
from patients.selectors import patient_safety_summary
from tests.factories import ConsentRecordFactory, HistoryItemFactory, PatientFactory, SkinProfileFactory

pytestmark = pytest.mark.django_db

ALLERGY = {
    "category": "allergy",
    "code": "local_anaesthetic",
    "name": "Lidocaine",
    "details": "Hives",
    "status": "current",
}


@pytest.fixture
def patient():
    return PatientFactory()


def test_doctor_adds_an_allergy_and_it_is_audited(doctor_client, doctor, patient):
    response = doctor_client.post(reverse("patients:history_item_add", args=[patient.pk]), ALLERGY)
    assert response.status_code == 302
    item = HistoryItem.objects.get()
    assert (item.recorded_by, item.version, item.name) == (doctor, 1, "Lidocaine")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE)
    assert (entry.user, entry.patient_id, entry.object_id) == (doctor, patient.pk, str(item.pk))
    assert entry.ip_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "anticoagulant"}, "code", "is not a type of allergy"),
        ({"code": "", "name": ""}, "code", "required"),
        ({"started_on": "2999-01-01"}, "started_on", "future"),
        ({"started_on": "2020-05-01", "ended_on": "2019-01-01"}, "ended_on", "on or after"),
        ({"category": "nonsense"}, "category", "valid choice"),
    ],
)
def test_bad_history_input_is_a_form_error(doctor_client, patient, changes, field, message):
    response = doctor_client.post(reverse("patients:history_item_add", args=[patient.pk]), {**ALLERGY, **changes})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not HistoryItem.objects.exists()


def test_changing_an_entry_keeps_the_earlier_version(doctor_client, other_doctor, patient):
    item = HistoryItemFactory(patient=patient, recorded_by=other_doctor)
    url = reverse("patients:history_item_edit", args=[patient.pk, item.pk])
    response = doctor_client.post(url, {**ALLERGY, "details": "Anaphylaxis in 2019", "category": "condition"})
    assert response.status_code == 302
    versions = list(HistoryItem.objects.filter(lineage=item.lineage).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].details == ""
    assert versions[0].superseded_at is not None
    assert versions[1].details == "Anaphylaxis in 2019"
    assert versions[1].superseded_at is None
    assert versions[1].category == "allergy"  # the category of an entry cannot be changed
    history = doctor_client.get(reverse("patients:history_item_versions", args=[patient.pk, versions[1].pk]))
    assert list(history.context["versions"]) == [versions[1], versions[0]]


def test_editing_a_superseded_version_goes_to_the_current_one(doctor_client, patient):
    item = HistoryItemFactory(patient=patient)
    doctor_client.post(reverse("patients:history_item_edit", args=[patient.pk, item.pk]), ALLERGY)
    response = doctor_client.post(reverse("patients:history_item_edit", args=[patient.pk, item.pk]), ALLERGY)
    assert response.status_code == 302
    assert HistoryItem.objects.filter(lineage=item.lineage).count() == 2


def test_history_item_of_another_patient_is_404(doctor_client, patient):
    item = HistoryItemFactory()
    url = reverse("patients:history_item_edit", args=[patient.pk, item.pk])
    assert doctor_client.get(url).status_code == 404


def test_skin_profile_versions(doctor_client, patient):
    url = reverse("patients:skin_profile_edit", args=[patient.pk])
    data = {
        "fitzpatrick_type": "II",
        "concerns": ["dehydration", "fine_lines"],
        "pregnancy": "no",
        "actives": ["retinoid"],
    }
    assert doctor_client.post(url, data).status_code == 302
    assert doctor_client.post(url, {**data, "pregnancy": "breastfeeding"}).status_code == 302
    profiles = list(SkinProfile.objects.filter(patient=patient).order_by("version"))
    assert [(p.version, p.pregnancy, p.is_superseded) for p in profiles] == [
        (1, "no", True),
        (2, "breastfeeding", False),
    ]
    assert profiles[1].concerns == ["dehydration", "fine_lines"]


def test_skin_profile_rejects_unknown_choices(doctor_client, patient):
    url = reverse("patients:skin_profile_edit", args=[patient.pk])
    response = doctor_client.post(url, {"pregnancy": "no", "concerns": ["nonsense"], "fitzpatrick_type": "IX"})
    assert response.status_code == 200
    assert "concerns" in response.context["form"].errors
    assert "fitzpatrick_type" in response.context["form"].errors
    assert not SkinProfile.objects.exists()


def test_medical_history_page_shows_safety_summary_and_is_audited(doctor_client, doctor, patient):
    HistoryItemFactory(patient=patient, category="medication", code="anticoagulant", name="Warfarin")
    SkinProfileFactory(patient=patient, pregnancy="pregnant")
    response = doctor_client.get(reverse("patients:medical_history", args=[patient.pk]))
    body = response.content.decode()
    assert "Anticoagulant: Warfarin" in body
    assert "More bruising is likely" in body
    assert "Pregnant" in body
    assert AuditEntry.objects.filter(
        user=doctor, patient=patient, action="view", object_type="medical history"
    ).exists()


def test_safety_summary_rules():
    today = timezone.localdate()
    patient = PatientFactory(date_of_birth=today.replace(year=today.year - 40))
    SkinProfileFactory(patient=patient, pregnancy="no")
    HistoryItemFactory(patient=patient, category="allergy", code="local_anaesthetic", name="Lidocaine")
    HistoryItemFactory(patient=patient, category="condition", code="herpes", name="Cold sores")
    HistoryItemFactory(patient=patient, category="condition", code="diabetes", name="T2", status="past")
    HistoryItemFactory(patient=patient, category="condition", code="keloid", name="Keloids")
    HistoryItemFactory(
        patient=patient, category="medication", code="isotretinoin", name="Roaccutane", status="past",
        started_on=today - datetime.timedelta(days=200), ended_on=today - datetime.timedelta(days=30),
    )  # fmt: skip
    HistoryItemFactory(
        patient=patient, category="medication", code="isotretinoin", name="Old course", status="past",
        started_on=datetime.date(2015, 1, 1), ended_on=datetime.date(2015, 6, 1),
    )  # fmt: skip
    HistoryItemFactory(patient=patient, category="allergy", code="latex", name="Latex", status="entered_in_error")
    flags = {(flag.level, flag.title) for flag in patient_safety_summary(patient).findings}
    # The rule table's levels: the same as the plan check gives (tests/patients/test_safety_rules.py).
    assert flags == {
        ("warn", "Allergy to local anaesthetic: Lidocaine"),
        ("block", "Active herpes: Cold sores"),
        ("warn", "Keloid tendency: Keloids"),
        ("block", "Recent isotretinoin: Roaccutane"),
    }


def test_viewing_a_consent_is_audited(doctor_client, doctor):
    consent = ConsentRecordFactory()
    doctor_client.get(reverse("patients:consent_detail", args=[consent.patient.pk, consent.pk]))
    assert AuditEntry.objects.filter(user=doctor, action="view", object_id=str(consent.pk)).exists()


def test_medical_history_query_count_is_bounded(doctor_client, patient, django_assert_max_num_queries):
    HistoryItemFactory.create_batch(15, patient=patient)
    ConsentRecordFactory.create_batch(3, patient=patient)
    # 14: one is the second factor's device, loaded on every request of a verified session; one the
    # intake questionnaires waiting for the doctor's review.
    with django_assert_max_num_queries(14):
        doctor_client.get(reverse("patients:medical_history", args=[patient.pk]))
