"""The maintenance recall worklist: who is due in a window, how to reach them, the desk's
status and notes (audited), and the doctor's one click to propose the next course."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clinic.audit import Actor
from clinic.models import AuditEntry
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from tests.factories import PatientFactory
from tests.treatments.factories import (
    CompletedPlanFactory,
    ProductFactory,
    SignedConsultationFactory,
    TreatmentPlanFactory,
)
from treatments import services
from treatments.models import MaintenanceRecall, TreatmentPlan

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2030, 1, 7)


def _due(on: datetime.date, **patient) -> TreatmentPlan:
    consultation = SignedConsultationFactory(patient=PatientFactory(**patient))
    return CompletedPlanFactory(consultation=consultation, maintenance_due_on=on)


def _list(client, **query):
    return client.get(reverse("treatments:recall_list"), query)


def test_the_worklist_lists_the_window_and_says_how_to_reach_each_patient(receptionist_client):
    emailed = _due(TODAY, last_name="Emailable")
    phoned = _due(TODAY + datetime.timedelta(days=3), last_name="Phoneonly", reminder_emails_consent=False)
    _due(TODAY + datetime.timedelta(days=40), last_name="Later")
    response = _list(receptionist_client, date_from=TODAY, date_to=TODAY + datetime.timedelta(days=10))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Emailable" in body
    assert "Phoneonly" in body
    assert "Later" not in body
    assert "2 patients due" in body
    rows = body.split("<tr>")
    emailed_row = next(row for row in rows if "Emailable" in row)
    phoned_row = next(row for row in rows if "Phoneonly" in row)
    assert "Email</span>" in emailed_row
    assert emailed.patient.email in emailed_row
    assert "Phone call</span>" in phoned_row
    assert phoned.patient.email not in phoned_row


def test_an_unsubscribed_patient_is_for_a_phone_call(receptionist_client):
    _due(TODAY, last_name="Unsubscribed", email_unsubscribed_at=timezone.now())
    body = _list(receptionist_client, date_from=TODAY, date_to=TODAY).content.decode()
    assert "Phone call</span>" in body


def test_the_worklist_filters_by_status(receptionist_client, receptionist):
    declined = _due(TODAY, last_name="Refuserperson")
    _due(TODAY, last_name="Stilldue")
    services.recall_update(plan=declined, status="declined", notes="", actor=Actor(user=receptionist))
    due_only = _list(receptionist_client, date_from=TODAY, date_to=TODAY, status="due").content.decode()
    assert "Stilldue" in due_only
    assert "Refuserperson" not in due_only
    declined_only = _list(receptionist_client, date_from=TODAY, date_to=TODAY, status="declined").content.decode()
    assert "Refuserperson" in declined_only
    assert "Stilldue" not in declined_only


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "2030-02-01", "date_to": "2030-01-01"}, "The end date must be on or after the start date."),
        ({"date_from": "2030-01-01", "date_to": "2032-01-01"}, "at most 366 days"),
        ({"date_from": "soon", "date_to": "2030-01-01"}, "Enter a valid date."),
        ({"date_from": "2030-01-01", "date_to": "2030-01-02", "status": "lost"}, "Select a valid choice"),
    ],
)
def test_a_bad_window_is_explained(receptionist_client, query, message):
    body = _list(receptionist_client, **query).content.decode()
    assert message in body


def test_the_worklist_makes_a_fixed_number_of_queries(receptionist_client, receptionist, django_assert_max_num_queries):
    for day in range(8):
        plan = _due(TODAY + datetime.timedelta(days=day))
        services.recall_update(plan=plan, status="contacted", notes="Left a message", actor=Actor(user=receptionist))
    with django_assert_max_num_queries(12):
        response = _list(receptionist_client, date_from=TODAY, date_to=TODAY + datetime.timedelta(days=10))
    assert response.content.decode().count("Left a message") == 8


def test_the_desk_records_a_call_and_the_change_is_audited(receptionist_client, receptionist):
    plan = _due(TODAY)
    response = receptionist_client.post(
        reverse("treatments:recall_update", args=[plan.pk]),
        {"status": "contacted", "notes": "Called, will think about it", "next": "/treatments/recalls/?status=due"},
    )
    assert response.status_code == 302
    assert response.url == "/treatments/recalls/?status=due"
    recall = MaintenanceRecall.objects.get(plan=plan)
    assert (recall.status, recall.notes, recall.updated_by) == (
        "contacted",
        "Called, will think about it",
        receptionist,
    )
    entry = AuditEntry.objects.get(object_type="maintenance recall")
    assert (entry.user, entry.patient_id, entry.action) == (receptionist, plan.patient_id, "update")
    # Notes alone are not a status change: no new audit entry.
    receptionist_client.post(
        reverse("treatments:recall_update", args=[plan.pk]), {"status": "contacted", "notes": "Second call"}
    )
    assert AuditEntry.objects.filter(object_type="maintenance recall").count() == 1
    assert MaintenanceRecall.objects.get(plan=plan).notes == "Second call"


def test_a_bad_status_changes_nothing(receptionist_client):
    plan = _due(TODAY)
    response = receptionist_client.post(
        reverse("treatments:recall_update", args=[plan.pk]), {"status": "lost", "notes": "x"}, follow=True
    )
    assert "Select a valid choice" in response.content.decode()
    assert not MaintenanceRecall.objects.exists()


def test_only_a_completed_course_has_a_recall(receptionist_client):
    plan = TreatmentPlanFactory()
    response = receptionist_client.post(reverse("treatments:recall_update", args=[plan.pk]), {"status": "contacted"})
    assert response.status_code == 404


def test_a_manager_reads_the_worklist_without_forms(manager_client):
    _due(TODAY, last_name="Readonly")
    body = _list(manager_client, date_from=TODAY, date_to=TODAY).content.decode()
    assert "Readonly" in body
    assert "<strong>Due</strong>" in body
    assert "recall-form" not in body
    assert "Propose the next course" not in body


def test_the_doctor_proposes_the_next_course_as_a_copy(doctor_client, doctor):
    products = [ProductFactory(), ProductFactory()]
    plan = CompletedPlanFactory(
        consultation=SignedConsultationFactory(doctor=doctor), doctor=doctor, session_count=4,
        maintenance_interval_months=9, technique="meso_pen", areas=["forehead", "neck"], products=products,
        maintenance_due_on=TODAY,
    )  # fmt: skip
    response = doctor_client.post(reverse("treatments:recall_propose", args=[plan.pk]))
    next_plan = TreatmentPlan.objects.exclude(pk=plan.pk).get()
    assert response.status_code == 302
    assert response.url == next_plan.get_absolute_url()
    assert next_plan.status == TreatmentPlan.Status.PROPOSED
    assert (next_plan.session_count, next_plan.maintenance_interval_months, next_plan.technique) == (4, 9, "meso_pen")
    assert next_plan.areas == ["forehead", "neck"]
    assert sorted(next_plan.plan_products.values_list("product_id", flat=True)) == sorted(p.pk for p in products)
    assert next_plan.consultation == plan.consultation
    assert next_plan.doctor == doctor
    # A second click does not make a second plan.
    doctor_client.post(reverse("treatments:recall_propose", args=[plan.pk]))
    assert TreatmentPlan.objects.count() == 2
    body = _list(doctor_client, date_from=TODAY, date_to=TODAY).content.decode()
    assert "Next course proposed: the doctor starts it" in body


def test_once_started_the_next_course_links_to_its_booking_page(receptionist_client, doctor):
    plan = _due(TODAY)
    next_plan = services.recall_propose_next_course(plan=plan, actor=Actor(user=doctor))
    TreatmentPlan.objects.filter(pk=next_plan.pk).update(status="active", activated_at=timezone.now())
    body = _list(receptionist_client, date_from=TODAY, date_to=TODAY).content.decode()
    assert reverse("scheduling:course_book", args=[next_plan.pk]) in body


def test_no_next_course_for_a_patient_marked_not_suitable(doctor, receptionist):
    plan = _due(TODAY)
    services.recall_update(plan=plan, status="not_suitable", notes="Pregnant", actor=Actor(user=receptionist))
    with pytest.raises(Exception, match="not suitable"):
        services.recall_propose_next_course(plan=plan, actor=Actor(user=doctor))
    assert TreatmentPlan.objects.count() == 1


def test_the_recall_email_links_to_the_lunchtime_booking_page():
    plan = _due(timezone.localdate())
    message = ScheduledMessage.objects.create(
        kind="maintenance_recall", patient=plan.patient, subject_ref=f"plan:{plan.pk}",
        dedupe_key=f"plan:{plan.pk}:maintenance_recall", due_at=timezone.now(),
    )  # fmt: skip
    assert message_deliver(message.pk) == "sent"
    body = mail.outbox[-1].body
    assert "Pick a lunchtime slot for the first session of your next course here:" in body
    assert "/scheduling/email/maintenance/" in body
    assert "/scheduling/email/maintenance/" in mail.outbox[-1].alternatives[0][0]


def test_no_recall_email_without_consent_the_worklist_has_them():
    plan = _due(timezone.localdate(), reminder_emails_consent=False)
    message = ScheduledMessage.objects.create(
        kind="maintenance_recall", patient=plan.patient, subject_ref=f"plan:{plan.pk}",
        dedupe_key=f"plan:{plan.pk}:maintenance_recall", due_at=timezone.now(),
    )  # fmt: skip
    assert message_deliver(message.pk) == "cancelled"
    assert mail.outbox == []
