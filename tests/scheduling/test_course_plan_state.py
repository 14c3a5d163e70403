"""A session of a course is booked only while its plan is open (issue 18): whoever books it,
with whatever copy of the plan, the plan's state is read under its lock and a closed plan
books nothing."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.models import ScheduledMessage
from scheduling import services
from scheduling.models import Appointment
from tests.scheduling.conftest import MONDAY
from tests.scheduling.factories import appointment_type
from tests.treatments.factories import ActivePlanFactory
from treatments.models import TreatmentPlan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def at(hour: int, day: datetime.date = MONDAY) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.UTC)


def close_in_the_database(plan: TreatmentPlan, status: str) -> None:
    """The plan closes after the page (and its copy of the plan) was loaded."""
    if status == TreatmentPlan.Status.CANCELLED:
        closing = {"cancelled_at": timezone.now(), "cancellation_reason": "Patient changed their mind"}
    else:
        closing = {"completed_at": timezone.now(), "maintenance_due_on": MONDAY + datetime.timedelta(days=180)}
    TreatmentPlan.objects.filter(pk=plan.pk).update(status=status, **closing)


@pytest.mark.parametrize("status", [TreatmentPlan.Status.COMPLETED, TreatmentPlan.Status.CANCELLED])
def test_a_session_of_a_plan_closed_since_the_page_was_loaded_is_not_booked(practitioner, status):
    stale = ActivePlanFactory(doctor=practitioner.user)
    close_in_the_database(stale, status)
    with pytest.raises(ValidationError, match=f"This treatment plan is {status}: its sessions can no longer be booked"):
        services.appointment_book(
            patient=stale.patient, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            starts_at=at(12), booked_by=practitioner.user, plan=stale, plan_session_number=1,
        )  # fmt: skip
    assert not Appointment.objects.exists()
    assert not ScheduledMessage.objects.exists()


@pytest.mark.parametrize("status", [TreatmentPlan.Status.COMPLETED, TreatmentPlan.Status.CANCELLED])
def test_a_course_of_a_plan_closed_since_the_page_was_loaded_is_not_booked(practitioner, status):
    stale = ActivePlanFactory(doctor=practitioner.user)
    close_in_the_database(stale, status)
    with pytest.raises(ValidationError, match=f"This treatment plan is {status}"):
        services.course_book(
            plan=stale, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
            sessions=[(1, at(12), None)], booked_by=practitioner.user,
        )  # fmt: skip
    assert not Appointment.objects.exists()


def test_an_open_plans_session_is_still_booked(practitioner):
    plan = ActivePlanFactory(doctor=practitioner.user)
    appointment = services.appointment_book(
        patient=plan.patient, practitioner=practitioner, appointment_type=appointment_type("Mesotherapy session"),
        starts_at=at(12), booked_by=practitioner.user, plan=plan, plan_session_number=1,
    )  # fmt: skip
    assert (appointment.plan_id, appointment.plan_session_number) == (plan.pk, 1)
