"""A form's ``next`` is used only when it is a page of this site; anything else falls back to
the view's own page, and the redirect after an action never fails (issue 18: a ``next`` with
a control character, an emoji or undecodable bytes was resolved as a view name, a 500 after
the check-in had been saved)."""

import datetime
from urllib.parse import quote

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from clinic.redirects import NEXT_MAX, redirect_to_next, safe_next
from messaging.models import ScheduledMessage
from scheduling.models import Appointment, AppointmentChange
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.factories import AppointmentFactory

# Raw form bodies: what a browser, a script or a fuzzer may send, undecodable bytes included.
HOSTILE_NEXT = [
    "next=%01%1B",  # control characters
    "next=%F0%9F%98%80",  # an emoji: no view has that name
    "next=%FF%FE",  # not UTF-8: read as U+FFFD
    "next=/patients/%01",
    "next=%2F%2Fevil.example%2F",  # //evil.example/
    "next=%5C%5Cevil.example",  # \\evil.example
    "next=%2F%5Cevil.example",  # /\evil.example
    "next=javascript%3Aalert(1)",
    "next=https%3A%2F%2Fevil.example%2F",
    "next=%2Fpatients%2F%20x",  # a space
    "next=%2Fno-such-page%2F",
    "next=%2Fpatients%2F%25FF",  # a path that decodes to bytes that are not UTF-8
    "next=%2Fpatients%2F%2500",  # a path that decodes to NUL
    "next=home",  # a view name is not a page
    "next=" + "%2F" + "a" * (NEXT_MAX + 10),
]


def form_post(client, url: str, body: str):
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    "target",
    ["", "home", "//evil.example", "/\\evil", "\\\\evil", "javascript:alert(1)", "/x\x00", "/\x1b", "/😀",
     "/patients/ 1", "https://testserver/", "/no-such-page/", "/" + "a" * NEXT_MAX, None, ["/"]],
)  # fmt: skip
def test_unsafe_targets_are_refused(target):
    request = RequestFactory().post("/")
    assert safe_next(request, target) == ""


@pytest.mark.parametrize("target", ["/", "/patients/", "/patients/?q=ann&archived=on", "/patients/#results"])
def test_pages_of_this_site_are_kept(target):
    assert safe_next(RequestFactory().post("/"), target) == target


def test_redirect_to_next_falls_back_and_never_resolves_the_target_as_a_view_name():
    request = RequestFactory().post("/", {"next": "patients:list"})
    response = redirect_to_next(request, "home")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.fixture
def frozen_now():
    with time_machine.travel(datetime.datetime(2030, 1, 7, 8, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("body", HOSTILE_NEXT)
def test_check_in_happens_once_and_returns_to_the_appointment(receptionist_client, body):
    appointment = AppointmentFactory()
    url = reverse("scheduling:appointment_check_in", args=[appointment.pk])
    response = form_post(receptionist_client, url, body)
    assert response.status_code == 302
    assert response["Location"] == appointment.get_absolute_url()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED
    assert AppointmentChange.objects.filter(appointment=appointment, to_status=Appointment.Status.ARRIVED).count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_now")
def test_check_in_returns_to_a_page_of_this_site(receptionist_client):
    appointment = AppointmentFactory()
    url = reverse("scheduling:appointment_check_in", args=[appointment.pk])
    today = reverse("scheduling:today")
    response = form_post(receptionist_client, url, "next=" + quote(today + "?view=all", safe=""))
    assert response["Location"] == today + "?view=all"


@pytest.mark.django_db
@pytest.mark.parametrize("body", HOSTILE_NEXT)
def test_message_retry_happens_and_returns_to_the_communications_page(manager_client, body):
    failed = ScheduledMessageFactory(status=ScheduledMessage.Status.FAILED, attempts=3)
    response = form_post(manager_client, reverse("messaging:retry", args=[failed.pk]), body)
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:communications")
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (ScheduledMessage.Status.PENDING, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("body", HOSTILE_NEXT)
def test_second_factor_page_ignores_a_hostile_next(doctor_client, body):
    # Already verified: the code page sends the person on to ``next``, here the start page.
    response = doctor_client.get(reverse("accounts:verify") + "?" + body)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
