"""GET /healthz: 200 when the database, the migrations, the broker and the outbox are fine;
503 naming the check that failed otherwise. Each failure is real: a database connection to a
closed port, a migration unrecorded, Redis on a closed port, an outbox row left waiting."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEntry
from messaging.models import ScheduledMessage
from tests.messaging.factories import ScheduledMessageFactory
from tests.messaging.realworld import free_port

pytestmark = pytest.mark.django_db


def health(client):
    response = client.get(reverse("healthz"))
    return response.status_code, response.json()


def test_all_fine_answers_200_with_each_check(client):
    status, body = health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "broker", "outbox"}
    assert all(check["ok"] for check in body["checks"].values())


def test_no_login_no_session_no_audit_no_cache(client, doctor):
    before = AuditEntry.objects.count()
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert AuditEntry.objects.count() == before
    assert client.post(reverse("healthz")).status_code == 405


def test_a_half_signed_in_user_gets_the_check_not_the_second_factor_page(client, doctor, settings):
    from tests.conftest import login_without_second_factor

    settings.REQUIRE_2FA = True
    login_without_second_factor(client, doctor)
    assert client.get(reverse("healthz")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_database_unreachable_answers_503(client):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        status, body = health(client)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert status == 503
    assert body["failed"] == ["database"]
    assert "unreachable" in body["checks"]["database"]["detail"]
    assert body["checks"]["broker"]["ok"]  # the broker is still asked


def test_unapplied_migration_answers_503(client):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'patients' AND name = '0010_patient_search_words'")
    status, body = health(client)
    assert status == 503
    assert body["failed"] == ["migrations"]
    assert "patients.0010_patient_search_words" in body["checks"]["migrations"]["detail"]


def test_broker_unreachable_answers_503_quickly(client, settings):
    import time

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    status, body = health(client)
    assert time.monotonic() - started < 5
    assert status == 503
    assert body["failed"] == ["broker"]


@pytest.mark.parametrize(
    ("waited", "status", "failed"),
    [
        (datetime.timedelta(minutes=14), 200, []),
        (datetime.timedelta(minutes=16), 503, ["outbox"]),
    ],
)
@time_machine.travel(datetime.datetime(2030, 1, 7, 8, tzinfo=datetime.UTC), tick=False)
def test_outbox_backlog_too_old_answers_503(client, settings, waited, status, failed):
    settings.HEALTH_OUTBOX_MAX_DELAY_SECONDS = 15 * 60
    ScheduledMessageFactory(due_at=timezone.now() - waited)
    # Sent, cancelled or not yet due messages do not count, however old.
    ScheduledMessageFactory(
        due_at=timezone.now() - datetime.timedelta(days=3), status=ScheduledMessage.Status.SENT, sent_at=timezone.now()
    )
    ScheduledMessageFactory(due_at=timezone.now() + datetime.timedelta(days=3))
    answer, body = health(client)
    assert (answer, body["failed"]) == (status, failed)
    assert f"waiting {int(waited.total_seconds())} s" in body["checks"]["outbox"]["detail"]
