"""seed_large on a small size: what it builds, and that it never mixes into someone's data."""

import datetime
import itertools
from collections import Counter
from io import StringIO

import phonenumbers
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone

from devdata import large as largedata
from messaging.models import ScheduledMessage
from patients.models import HistoryItem, Patient
from scheduling.models import Appointment, Practitioner, WorkingHours
from scheduling.services import reminder_key
from tests.factories import PatientFactory
from treatments.models import Consultation, TreatmentPlan, TreatmentSession

pytestmark = pytest.mark.django_db

SMALL = {"patients": 400, "practitioners": 2, "years": 0.3}


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_large", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def test_seed_large_builds_a_small_clinic_and_says_how_long_it_took():
    output = seed()

    assert "Done in" in output
    assert Patient.objects.count() == 400
    assert Practitioner.objects.count() == 2
    assert WorkingHours.objects.count() == 10
    assert HistoryItem.objects.exists()
    assert Consultation.objects.filter(status=Consultation.Status.SIGNED).exists()
    assert TreatmentPlan.objects.filter(status=TreatmentPlan.Status.COMPLETED).exists()
    assert TreatmentSession.objects.filter(status=TreatmentSession.Status.SIGNED).exists()
    assert largedata.foreign_data() == []


def test_seed_large_books_about_ten_appointments_per_practitioner_per_past_working_day():
    seed()

    today = timezone.localdate()
    per_day = Counter()
    for practitioner_id, starts_at in Appointment.objects.values_list("practitioner_id", "starts_at"):
        day = timezone.localtime(starts_at).date()
        if day < today:
            per_day[(practitioner_id, day)] += 1
    assert per_day
    assert all(8 <= count <= 12 for count in per_day.values()), sorted(set(per_day.values()))


def test_seed_large_gives_past_and_future_appointments_realistic_statuses():
    # The clock stands still at a lunchtime (sessions in progress): an appointment that ends
    # while the seed runs would otherwise be past for the test and in progress for the seed.
    now = datetime.datetime(2026, 11, 24, 12, 40, tzinfo=datetime.UTC)
    with time_machine.travel(now, tick=False):
        seed()

    past = set(Appointment.objects.filter(ends_at__lt=now).values_list("status", flat=True))
    future = set(Appointment.objects.filter(starts_at__gt=now).values_list("status", flat=True))
    assert past <= {"completed", "no_show", "cancelled"}
    assert {"completed", "no_show"} <= past
    assert future <= {"booked", "confirmed", "cancelled"}
    assert {"booked", "confirmed"} <= future
    during = set(Appointment.objects.filter(starts_at__lte=now, ends_at__gte=now).values_list("status", flat=True))
    assert "arrived" in during
    assert during <= {"arrived", "cancelled"}


def test_seed_large_patients_have_valid_phones_lowercase_unique_emails_and_a_search_key():
    seed()

    phones = list(Patient.objects.exclude(phone="").values_list("phone", flat=True))
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in phones)
    emails = list(Patient.objects.exclude(email="").values_list("email", flat=True))
    assert all(email == email.lower() for email in emails)
    assert len(emails) == len(set(emails))
    assert not Patient.objects.filter(search_key="").exists()


def test_seed_large_courses_are_weekly_sessions_of_one_patient_and_one_practitioner():
    seed()

    for plan in TreatmentPlan.objects.exclude(status=TreatmentPlan.Status.CANCELLED)[:50]:
        appointments = list(plan.appointments.order_by("plan_session_number"))
        assert appointments
        assert len(appointments) <= plan.session_count
        assert {appointment.patient_id for appointment in appointments} == {plan.patient_id}
        assert len({appointment.practitioner_id for appointment in appointments}) == 1
        days = [timezone.localtime(appointment.starts_at).date() for appointment in appointments]
        for earlier, later in itertools.pairwise(days):
            # a week apart, or the nearest free day within two days of it
            assert 5 <= (later - earlier).days <= 9
    completed = TreatmentPlan.objects.filter(status=TreatmentPlan.Status.COMPLETED)
    assert not completed.filter(maintenance_due_on__isnull=True).exists()


def test_seed_large_writes_the_outbox_rows_the_bookings_imply():
    seed()

    now = timezone.now()
    keys = set(ScheduledMessage.objects.values_list("dedupe_key", flat=True))
    for appointment in Appointment.objects.filter(starts_at__gt=now + timezone.timedelta(days=2)).exclude(
        status="cancelled"
    ):
        assert f"appointment:{appointment.pk}:booking_confirmation" in keys
        if appointment.starts_at - appointment.created_at > timezone.timedelta(hours=24):
            reminder = ScheduledMessage.objects.get(dedupe_key=reminder_key(appointment))
            assert reminder.status == ScheduledMessage.Status.PENDING
    for plan in TreatmentPlan.objects.filter(status=TreatmentPlan.Status.COMPLETED):
        assert f"plan:{plan.pk}:course_completed" in keys
        assert f"plan:{plan.pk}:maintenance_recall" in keys
    for session_id in TreatmentSession.objects.values_list("pk", flat=True):
        assert f"session:{session_id}:aftercare" in keys
    sent = ScheduledMessage.objects.filter(status=ScheduledMessage.Status.SENT)
    assert sent.exists()
    assert not sent.filter(sent_at__isnull=True).exists()
    assert not ScheduledMessage.objects.filter(status=ScheduledMessage.Status.PENDING, due_at__lte=now).exists()


def test_seed_large_run_again_replaces_its_own_clinic():
    seed()
    output = seed(patients=150)

    assert "Replacing the clinic generated earlier" in output
    assert Patient.objects.count() == 150
    assert Practitioner.objects.count() == 2
    counts = get_user_model().objects.values("username").annotate(n=Count("id")).filter(n__gt=1)
    assert not counts.exists()


def test_seed_large_refuses_a_database_with_data_it_did_not_generate():
    PatientFactory(first_name="Real", last_name="Person")

    with pytest.raises(CommandError, match=r"did not generate \(1 patients\).*--allow-existing-data"):
        seed()

    assert Patient.objects.count() == 1
    assert not Practitioner.objects.exists()


def test_seed_large_refuses_a_database_with_staff_it_did_not_generate(doctor):
    with pytest.raises(CommandError, match="1 staff accounts"):
        seed()


def test_seed_large_adds_its_clinic_beside_existing_data_when_allowed(doctor):
    real = PatientFactory(first_name="Real", last_name="Person")

    seed(allow_existing_data=True)

    assert Patient.objects.filter(pk=real.pk).exists()
    assert Patient.objects.count() == 401
    assert largedata.foreign_data() == ["1 staff accounts", "1 patients"]


def test_seed_large_will_not_replace_its_clinic_when_other_data_is_there_too(doctor):
    seed(allow_existing_data=True)

    with pytest.raises(CommandError, match="cannot be replaced"):
        seed(allow_existing_data=True)


@pytest.mark.parametrize("option", ["--patients=0", "--practitioners=-1", "--years=0", "--years=abc"])
def test_seed_large_rejects_bad_sizes(option):
    with pytest.raises(CommandError, match="invalid"):
        call_command("seed_large", option, stdout=StringIO())


def test_seed_large_asks_for_migrations_first(monkeypatch):
    monkeypatch.setattr(
        "django.db.migrations.executor.MigrationExecutor.migration_plan", lambda self, targets: ["pending"]
    )

    with pytest.raises(CommandError, match=r"run `manage\.py migrate` first"):
        seed()

    assert not Patient.objects.exists()
