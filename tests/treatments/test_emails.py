"""The builders of the treatment emails: what they say, and when they skip."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from clinic.audit import Actor
from messaging.models import ScheduledMessage
from messaging.services import message_deliver
from tests.factories import SkinProfileFactory
from tests.treatments.factories import ActivePlanFactory, SignedSessionFactory, TreatmentPlanFactory
from treatments import services

pytestmark = pytest.mark.django_db


def _message(kind, patient, subject_ref):
    return ScheduledMessage.objects.create(
        kind=kind, patient=patient, subject_ref=subject_ref, dedupe_key=f"{subject_ref}:{kind}", due_at=timezone.now()
    )


def test_aftercare_for_a_signed_session_is_sent():
    session = SignedSessionFactory(number=2)
    message = _message("aftercare", session.patient, f"session:{session.pk}")
    assert message_deliver(message.pk) == "sent"
    assert "fade within a day" in mail.outbox[0].body
    assert "This was session 2 of 5 of your course." in mail.outbox[0].body


def test_aftercare_for_a_missing_session_is_skipped():
    plan = ActivePlanFactory()
    message = _message("aftercare", plan.patient, "session:999999")
    assert message_deliver(message.pk) == "cancelled"
    message.refresh_from_db()
    assert "no longer exists" in message.last_error


def test_course_completed_is_skipped_for_a_cancelled_plan():
    plan = TreatmentPlanFactory(status="cancelled", cancelled_at=timezone.now(), cancellation_reason="x")
    message = _message("course_completed", plan.patient, f"plan:{plan.pk}")
    assert message_deliver(message.pk) == "cancelled"


def test_course_completed_and_recall_say_when_maintenance_is_due(doctor):
    plan = ActivePlanFactory(session_count=4, maintenance_interval_months=9)
    SkinProfileFactory(patient=plan.patient)
    for number in (1, 2, 3):  # one week apart, as the check at signing requires
        SignedSessionFactory(
            plan=plan, number=number, performed_at=timezone.now() - datetime.timedelta(weeks=4 - number)
        )
    actor = Actor(user=doctor)
    session = services.session_record(
        plan=plan,
        fields={"performed_at": timezone.now(), "technique": "meso_pen", "areas": ["forehead"]},
        usages=[],
        actor=actor,
    )
    services.session_sign(session=session, actor=actor)
    plan.refresh_from_db()
    completed = ScheduledMessage.objects.get(kind="course_completed")
    assert message_deliver(completed.pk) == "sent"
    assert "course of 4 mesotherapy sessions" in mail.outbox[-1].body
    assert f"{plan.maintenance_due_on:%B %Y}" in mail.outbox[-1].body
    recall = ScheduledMessage.objects.get(kind="maintenance_recall")
    ScheduledMessage.objects.filter(pk=recall.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    assert message_deliver(recall.pk) == "sent"
    assert "It is 9 months since" in mail.outbox[-1].body


def test_recall_is_skipped_when_a_newer_course_started():
    plan = TreatmentPlanFactory(status="completed", maintenance_due_on=timezone.localdate())
    TreatmentPlanFactory(consultation=plan.consultation)
    message = _message("maintenance_recall", plan.patient, f"plan:{plan.pk}")
    assert message_deliver(message.pk) == "cancelled"
    message.refresh_from_db()
    assert "newer course" in message.last_error
