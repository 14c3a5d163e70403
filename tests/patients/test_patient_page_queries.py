"""The patient page's query budget, for each role, on a patient with something in every panel:
the number of statements does not grow with the rows the panels show."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import ScheduledMessage
from scheduling.models import Appointment
from tests.factories import HistoryItemFactory, PatientFactory, SkinProfileFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.factories import AppointmentFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    BatchFactory,
    CompletedPlanFactory,
    SignedConsultationFactory,
    SignedSessionFactory,
)
from treatments.models import FollowUpTask, SessionFollowUp

# The budgets as measured (doctor and receptionist, a patient with rows in every panel); a
# change that needs more statements is a regression to look at. (Before the panels were read
# in written-out statements: 18 and 11.)
DOCTOR_BUDGET = 15
RECEPTIONIST_BUDGET = 9


def _rich_patient(doctor, *, rows: int):
    """A patient with ``rows`` appointments, emails, plans, consultations and concerns, a
    recalled batch received, a medical history and a skin profile."""
    patient = PatientFactory()
    HistoryItemFactory(patient=patient)
    SkinProfileFactory(patient=patient)
    soon = timezone.now() + datetime.timedelta(days=3)
    for index in range(rows):
        AppointmentFactory(
            patient=patient, starts_at=soon + datetime.timedelta(days=index), status=Appointment.Status.CONFIRMED
        )
        ScheduledMessageFactory(patient=patient, status=ScheduledMessage.Status.SENT, sent_at=timezone.now())
        SignedConsultationFactory(patient=patient, doctor=doctor)
        session = SignedSessionFactory(
            plan=CompletedPlanFactory(patient=patient, consultation__patient=patient), number=1
        )
        follow_up = SessionFollowUp.objects.create(
            session=session, patient=patient, answer=SessionFollowUp.Answer.CONCERN, concern=f"Concern {index}"
        )
        FollowUpTask.objects.create(follow_up=follow_up, patient=patient, doctor=doctor)
    ActivePlanFactory(patient=patient, consultation__patient=patient)
    batch = BatchFactory(lot_number="BUDGET-1", recalled_at=timezone.now(), recall_reason="Particles")
    session.batch_usages.create(batch=batch, amount=Decimal("1.50"))
    return patient


@pytest.mark.parametrize("rows", [1, 6])
def test_patient_page_query_budget_for_a_doctor(doctor, doctor_client, django_assert_max_num_queries, rows):
    patient = _rich_patient(doctor, rows=rows)
    with django_assert_max_num_queries(DOCTOR_BUDGET):
        response = doctor_client.get(reverse("patients:detail", args=[patient.pk]))
    page = response.content.decode()
    assert "Received a recalled batch" in page
    assert "lot BUDGET-1: 1.50 ml in session 1" in page
    assert f"Concern {rows - 1}" in page
    assert "Book course sessions" in page
    assert "scheduling-status-confirmed" in page


@pytest.mark.parametrize("rows", [1, 6])
def test_patient_page_query_budget_for_a_receptionist(doctor, receptionist_client, django_assert_max_num_queries, rows):
    patient = _rich_patient(doctor, rows=rows)
    with django_assert_max_num_queries(RECEPTIONIST_BUDGET):
        response = receptionist_client.get(reverse("patients:detail", args=[patient.pk]))
    page = response.content.decode()
    assert "Emails to the patient" in page
    assert "Book course sessions" in page
    assert "Received a recalled batch" not in page
    assert "Concern 0" not in page
