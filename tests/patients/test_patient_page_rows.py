"""The patient page's appointment and email rows, written by template tags rather than template
loops: each fact is shown, every value escaped, a cancelled appointment and an unsent email as
before."""

import datetime
import html

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from messaging.models import ScheduledMessage
from scheduling.models import Appointment, AppointmentType
from tests.factories import PatientFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.factories import AppointmentFactory, PractitionerFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2030, 1, 7, 8, 0, tzinfo=datetime.UTC)
MARKUP = '<img src=x onerror="alert(1)">'


@time_machine.travel(NOW, tick=False)
def test_appointment_and_email_rows_show_each_fact_escaped(client, doctor):
    client.force_login(doctor)  # signed in at the travelled-to time
    patient = PatientFactory()
    practitioner = PractitionerFactory(user__first_name=f"Ana {MARKUP}", user__last_name="Ruiz")
    kind = AppointmentType.objects.create(
        name=f"Peel {MARKUP}", duration_minutes=30, buffer_minutes=0, colour="#123456"
    )
    booked = AppointmentFactory(
        patient=patient, practitioner=practitioner, appointment_type=kind,
        starts_at=datetime.datetime(2030, 1, 8, 12, 15, tzinfo=datetime.UTC), plan_session_number=3,
    )  # fmt: skip
    AppointmentFactory(
        patient=patient, starts_at=datetime.datetime(2030, 1, 9, 12, 0, tzinfo=datetime.UTC),
        status=Appointment.Status.CANCELLED,
    )  # fmt: skip
    ScheduledMessageFactory(
        patient=patient, kind=ScheduledMessage.Kind.AFTERCARE, status=ScheduledMessage.Status.SENT,
        due_at=datetime.datetime(2030, 1, 6, 9, 30, tzinfo=datetime.UTC), sent_at=timezone.now(),
    )  # fmt: skip
    ScheduledMessageFactory(patient=patient, status=ScheduledMessage.Status.PENDING, due_at=NOW)

    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()

    assert MARKUP not in page
    assert html.escape(f"Peel {MARKUP}") in page
    assert html.escape(f"Ana {MARKUP} Ruiz") in page
    assert f'<a href="{booked.get_absolute_url()}">Tue 08 Jan 2030, 12:15</a>' in page
    assert 'data-type-colour="#123456"' in page
    assert "· session 3" in page
    assert "scheduling-status-booked" in page
    assert "scheduling-status-cancelled" not in page  # cancelled appointments are not listed
    assert "<tr><td>Aftercare advice</td><td>06 Jan 2030 09:30</td>" in page
    assert "✓ Sent</span> 07 Jan 08:00</td>" in page
    assert "◷ Pending</span></td>" in page
