"""A login ends after SESSION_IDLE_TIMEOUT_SECONDS without a request, and SESSION_COOKIE_AGE
after it began however active it was; the next request lands on the login page with a message."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2030, 3, 4, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock(settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 1800
    settings.SESSION_COOKIE_AGE = 8 * 60 * 60
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def later(**delta) -> datetime.datetime:
    return START + datetime.timedelta(**delta)


def test_activity_keeps_the_login_and_idleness_ends_it(client, receptionist, clock):
    client.force_login(receptionist)
    home = reverse("home")
    for minutes in (29, 58, 87):  # a request every 29 minutes: never idle for 30
        clock.move_to(later(minutes=minutes))
        assert client.get(home).status_code == 200, minutes

    clock.move_to(later(minutes=87 + 31))
    patients = reverse("patients:list") + "?q=smith"
    response = client.get(patients)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('patients:list')}%3Fq%3Dsmith"
    page = client.get(response.url)
    assert "You were logged out after 30 minutes without activity. Please log in again." in page.content.decode()
    assert SESSION_KEY not in client.session
    # The login is gone, not only this request.
    assert client.get(home).status_code == 302


def test_the_idle_timeout_is_a_setting(client, receptionist, clock, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 300
    client.force_login(receptionist)
    clock.move_to(later(minutes=4))
    assert client.get(reverse("home")).status_code == 200
    clock.move_to(later(minutes=4 + 6))
    response = client.get(reverse("home"), follow=True)
    assert "You were logged out after 5 minutes without activity." in response.content.decode()


def test_a_form_posted_after_the_timeout_changes_nothing(client, receptionist, clock):
    client.force_login(receptionist)
    clock.move_to(later(minutes=45))
    response = client.post(
        reverse("patients:register"), {"first_name": "Late", "last_name": "Post", "date_of_birth": "1980-01-01"}
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Patient.objects.filter(last_name="Post").exists()


def test_an_htmx_request_after_the_timeout_loads_the_login_page_whole(client, doctor, clock):
    client.force_login(doctor)
    clock.move_to(later(minutes=31))
    response = client.get(
        reverse("scheduling:day") + "?date=2030-03-05",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/scheduling/?date=2030-03-04"},
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/scheduling/%3Fdate%3D2030-03-04"


def test_a_login_ends_after_the_session_age_however_active(client, doctor, clock):
    client.force_login(doctor)
    patient = PatientFactory()
    for minutes in range(20, 8 * 60 + 1, 20):
        clock.move_to(later(minutes=minutes))
        assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200, minutes
    clock.move_to(later(hours=8, minutes=10))
    response = client.get(reverse("patients:detail", args=[patient.pk]), follow=True)
    assert "Your login ended after 8 hours. Please log in again." in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("login"))


def session_writes(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return sum(query["sql"].startswith('UPDATE "django_session"') for query in queries.captured_queries)


def test_a_busy_page_writes_the_session_once_a_minute(client, doctor, clock):
    client.force_login(doctor)
    home = reverse("home")
    assert session_writes(client, home) == 0  # the login stamped the session already
    clock.move_to(later(seconds=30))
    assert session_writes(client, home) == 0
    clock.move_to(later(seconds=90))
    assert session_writes(client, home) == 1
