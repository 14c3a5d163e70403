import io

import pytest

from devdata.demo import patients as patients_demo
from devdata.demo import treatments as demo
from treatments.models import Batch, Consultation, TreatmentPlan, TreatmentSession

pytestmark = pytest.mark.django_db


def test_demo_data_is_realistic_and_idempotent():
    staff = patients_demo.seed_staff()
    patients_demo.seed_patients(doctor=staff["doctor"])
    demo.seed_demo_data(stdout=io.StringIO())
    counts = (Consultation.objects.count(), TreatmentPlan.objects.count(), TreatmentSession.objects.count())
    assert counts[0] == len(demo.SCENARIOS)
    statuses = set(TreatmentPlan.objects.values_list("status", flat=True))
    assert statuses == {"completed", "active", "proposed"}
    assert all(plan.maintenance_due_on for plan in TreatmentPlan.objects.filter(status="completed"))
    assert Batch.objects.filter(quantity_in_stock__lt=0).count() == 0

    demo.seed_demo_data(stdout=io.StringIO())
    assert (Consultation.objects.count(), TreatmentPlan.objects.count(), TreatmentSession.objects.count()) == counts
