import io

import pytest

from devdata.demo.patients import seed_staff
from devdata.demo.scheduling import seed_demo_data
from scheduling.models import Appointment, Practitioner
from tests.factories import PatientFactory
from tests.treatments.factories import ActivePlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_demo_data_is_made_once_and_books_a_course():
    staff = seed_staff()
    PatientFactory.create_batch(40)
    plan = ActivePlanFactory(doctor=staff["doctor"], session_count=5)
    seed_demo_data(stdout=io.StringIO())
    assert Practitioner.objects.count() == 2
    count = Appointment.objects.count()
    assert count > 50
    assert plan.appointments.count() == 5
    assert Appointment.objects.filter(starts_at__hour__in=[12, 13]).exists()  # lunchtime ones
    seed_demo_data(stdout=io.StringIO())
    assert Appointment.objects.count() == count
