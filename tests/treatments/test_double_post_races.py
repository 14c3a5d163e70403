"""Two posts of the same form at the same moment, on the real PostgreSQL: a row lock queues
the second behind the first, which it then finds; one row is written, the other post is told
so (AlreadyRecorded), and nothing crashes."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from clinic.audit import Actor
from tests.factories import PatientFactory, SkinProfileFactory
from tests.treatments.factories import (
    ActivePlanFactory,
    ProductFactory,
    SignedConsultationFactory,
    SignedSessionFactory,
)
from treatments import services
from treatments.models import (
    Consultation,
    ConsultationAddendum,
    OutcomeRating,
    SessionAddendum,
    TreatmentPlan,
    TreatmentSession,
)

pytestmark = pytest.mark.django_db(transaction=True)


def race(post, times: int = 2) -> tuple[list, list, list]:
    """Run ``post`` in ``times`` threads released together: (written, already, crashed)."""
    barrier = threading.Barrier(times)
    written, already, crashed = [], [], []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait()
            result = post()
            with lock:
                written.append(result)
        except services.AlreadyRecorded as error:
            with lock:
                already.append(error)
        except Exception as error:  # pragma: no cover - reported below
            with lock:
                crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return written, already, crashed


def test_two_posts_of_the_new_session_form_record_one_draft():
    plan = ActivePlanFactory()
    SkinProfileFactory(patient=plan.patient)
    fields = {
        "performed_at": timezone.now(), "numbing_applied_at": None, "technique": "needle_syringe",
        "areas": ["forehead"], "injection_sites": "", "duration_minutes": 30, "pain_score": 2, "reactions": [],
        "reactions_other": "", "aftercare_given": "", "notes": "",
    }  # fmt: skip
    written, already, crashed = race(
        lambda: services.session_record(plan=plan, fields=fields, usages=[], actor=Actor(user=plan.doctor))
    )
    assert crashed == []
    assert len(written) == 1
    assert [error.existing.pk for error in already] == [written[0].pk]
    assert TreatmentSession.objects.count() == 1


def test_two_posts_of_the_same_addendum_add_one():
    session = SignedSessionFactory()
    consultation = SignedConsultationFactory()
    written, already, crashed = race(
        lambda: services.session_addendum_add(session=session, text="Bruise faded.", actor=Actor(user=session.doctor))
    )
    assert (len(written), len(already), crashed) == (1, 1, [])
    written, already, crashed = race(
        lambda: services.consultation_addendum_add(
            consultation=consultation, text="Nickel allergy.", actor=Actor(user=consultation.doctor)
        )
    )
    assert (len(written), len(already), crashed) == (1, 1, [])
    assert SessionAddendum.objects.count() == ConsultationAddendum.objects.count() == 1


def test_two_posts_of_the_same_consultation_save_one_draft():
    patient = PatientFactory()
    doctor = SignedConsultationFactory().doctor
    fields = {
        "consulted_on": timezone.localdate(), "concerns": ["dehydration"], "concerns_other": "", "goals": "Glow",
        "examination": "", "history_reviewed": True, "history_changes": "", "routine_reviewed": True,
        "routine_changes": "", "assessment": "", "suitability": "",
    }  # fmt: skip
    written, already, crashed = race(
        lambda: services.consultation_create(patient=patient, fields=fields, actor=Actor(user=doctor))
    )
    assert (len(written), len(already), crashed) == (1, 1, [])
    assert Consultation.objects.filter(patient=patient).count() == 1


def test_two_posts_of_the_same_plan_propose_one():
    consultation = SignedConsultationFactory()
    product = ProductFactory()
    fields = {
        "session_count": 5, "maintenance_interval_months": 6, "technique": "needle_syringe", "numbing_cream": "emla",
        "areas": ["forehead"], "starts_on": None, "notes": "",
    }  # fmt: skip
    cocktail = [services.CocktailItem(product=product, amount_per_session=2)]
    written, already, crashed = race(
        lambda: services.plan_create(
            consultation=consultation, fields=fields, cocktail=cocktail, actor=Actor(user=consultation.doctor)
        )
    )
    assert (len(written), len(already), crashed) == (1, 1, [])
    assert TreatmentPlan.objects.count() == 1


def test_two_posts_of_the_same_rating_record_one_and_never_crash():
    session = SignedSessionFactory()
    scores = {"hydration": 4, "radiance": 3, "fine_lines": 2, "satisfaction": 5}
    written, already, crashed = race(
        lambda: services.outcome_rating_record(
            session=session, rater="doctor", scores=scores, actor=Actor(user=session.doctor)
        )
    )
    assert (len(written), len(already), crashed) == (1, 1, [])
    assert OutcomeRating.objects.count() == 1
