"""Two doctors signing sessions at the same moment, on the real PostgreSQL: the batch row lock
makes sure the last millilitres are taken once, and the loser gets a clear message."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from clinic.audit import Actor
from tests.factories import SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, BatchFactory, TreatmentSessionFactory
from treatments import services
from treatments.models import Batch, BatchUsage, TreatmentSession

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_sessions_cannot_both_take_the_last_stock():
    batch = BatchFactory(quantity_in_stock=Decimal("3.00"))
    sessions = []
    for _ in range(2):
        plan = ActivePlanFactory()
        SkinProfileFactory(patient=plan.patient)
        session = TreatmentSessionFactory(plan=plan, number=1, doctor=plan.doctor)
        BatchUsage.objects.create(session=session, batch=batch, amount=Decimal("2.00"))
        sessions.append(session)

    barrier = threading.Barrier(2)
    signed, refused, crashed = [], [], []
    lock = threading.Lock()

    def worker(session):
        try:
            barrier.wait()
            services.session_sign(session=session, actor=Actor(user=session.doctor))
            with lock:
                signed.append(session.pk)
        except ValidationError as error:
            with lock:
                refused.append(" ".join(error.messages))
        except Exception as error:  # pragma: no cover - reported below
            with lock:
                crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert crashed == []
    assert len(signed) == 1
    assert len(refused) == 1
    assert "only 1.00 ml in stock" in refused[0]
    assert Batch.objects.get(pk=batch.pk).quantity_in_stock == Decimal("1.00")
    assert TreatmentSession.objects.filter(status="signed").count() == 1
