"""Two-factor authentication (django-otp): enrolment, the code page, recovery codes, resets."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditEntry
from tests.conftest import login_without_second_factor
from tests.factories import PASSWORD, authenticator_for, totp_code

pytestmark = pytest.mark.django_db


def _codes(response) -> list[str]:
    return re.findall(r"<li>([a-z0-9]{10})</li>", response.content.decode())


def test_full_login_asks_for_the_code_after_the_password(doctor):
    device = authenticator_for(doctor)
    client = Client()
    response = client.post(reverse("login"), {"username": doctor.username, "password": PASSWORD})
    assert response.status_code == 302
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:verify") + "?next=%2Fpatients%2F"

    response = client.post(reverse("accounts:verify"), {"code": totp_code(device), "next": "/patients/"})
    assert response.status_code == 302
    assert response.url == "/patients/"
    assert client.get(reverse("patients:list")).status_code == 200


@pytest.mark.parametrize("url", ["/", "/patients/", "/staff/", "/admin/", "/accounts/password/", "/audit/"])
def test_no_page_before_enrolment_when_required(client, manager, url, settings):
    settings.REQUIRE_2FA = True
    login_without_second_factor(client, manager)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:enrol") + "?next=")


def test_a_user_with_a_device_always_enters_a_code(client, doctor, settings):
    settings.REQUIRE_2FA = False
    authenticator_for(doctor)
    login_without_second_factor(client, doctor)
    assert client.get("/").url.startswith(reverse("accounts:verify"))


def test_without_the_requirement_a_user_without_a_device_goes_in(client, doctor, settings):
    settings.REQUIRE_2FA = False
    login_without_second_factor(client, doctor)
    assert client.get("/").status_code == 200


def test_superuser_in_the_admin_also_needs_the_code(client, superuser):
    authenticator_for(superuser)
    login_without_second_factor(client, superuser)
    response = client.get(reverse("admin:auth_user_changelist"))
    assert response.url.startswith(reverse("accounts:verify"))


def test_enrolment_shows_a_local_qr_code_then_ten_recovery_codes_once(client, receptionist):
    login_without_second_factor(client, receptionist)
    response = client.get(reverse("accounts:enrol"))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<svg class="qr-code" role="img"' in body
    assert "<img" not in body  # drawn inline, no third-party host sees the secret
    device = TOTPDevice.objects.get(user=receptionist, confirmed=False)

    response = client.post(reverse("accounts:enrol"), {"code": "000000", "next": "/patients/"})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()

    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(reverse("accounts:enrol"), {"code": totp_code(device), "next": "/patients/"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    codes = _codes(client.get(response.url))
    assert len(set(codes)) == 10
    assert client.get(reverse("accounts:recovery_codes")).status_code == 404  # shown once
    assert client.get(reverse("patients:list")).status_code == 200


def test_a_recovery_code_works_once(doctor):
    authenticator_for(doctor)
    client = Client()
    login_without_second_factor(client, doctor)
    client.post(reverse("accounts:recovery_codes_renew"))
    # Not verified yet: the middleware refuses anything but the code page...
    assert client.get(reverse("accounts:recovery_codes")).status_code == 404
    assert not StaticDevice.objects.filter(user=doctor).exists()

    # ...so the codes come from a verified session.
    verified = Client()
    verified.force_login(doctor)
    verified.post(reverse("accounts:recovery_codes_renew"))
    codes = _codes(verified.get(reverse("accounts:recovery_codes")))
    assert len(codes) == 10

    response = client.post(reverse("accounts:verify"), {"code": codes[0].upper(), "next": "/"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200

    again = Client()
    login_without_second_factor(again, doctor)
    response = again.post(reverse("accounts:verify"), {"code": codes[0], "next": "/"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert again.get("/").status_code == 302


def test_wrong_code_is_a_form_error(client, doctor):
    authenticator_for(doctor)
    login_without_second_factor(client, doctor)
    response = client.post(reverse("accounts:verify"), {"code": "12 34 56"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    response = client.post(reverse("accounts:verify"), {"code": ""})
    assert "This field is required." in response.content.decode()


def test_verify_refuses_an_outside_next(client, doctor):
    device = authenticator_for(doctor)
    login_without_second_factor(client, doctor)
    response = client.post(reverse("accounts:verify"), {"code": totp_code(device), "next": "https://evil.example/"})
    assert response.url == reverse("home")


def test_manager_resets_another_users_second_factor(manager_client, manager, doctor):
    doctor_client = Client()
    doctor_client.force_login(doctor)
    assert doctor_client.get("/").status_code == 200

    response = manager_client.post(reverse("accounts:staff_reset_2fa", args=[doctor.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=doctor).exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.RESET_2FA)
    assert (entry.user, entry.object_id) == (manager, str(doctor.pk))
    # The session verified by the removed device is not verified any more: enrol again.
    assert doctor_client.get("/").url.startswith(reverse("accounts:enrol"))


def test_nobody_turns_off_their_own_second_factor_when_required(doctor_client, doctor, settings):
    settings.REQUIRE_2FA = True
    page = doctor_client.get(reverse("accounts:second_factor")).content.decode()
    assert "Turn two-factor authentication off" not in page
    doctor_client.post(reverse("accounts:second_factor_remove"))
    assert TOTPDevice.objects.filter(user=doctor, confirmed=True).exists()
    assert doctor_client.get("/").status_code == 200


def test_a_user_may_turn_it_off_when_not_required(doctor_client, doctor, settings):
    settings.REQUIRE_2FA = False
    doctor_client.post(reverse("accounts:second_factor_remove"))
    assert not TOTPDevice.objects.filter(user=doctor).exists()
    assert doctor_client.get("/").status_code == 200


def test_enrolment_is_not_offered_twice(doctor_client):
    response = doctor_client.get(reverse("accounts:enrol"))
    assert response.url == reverse("accounts:second_factor")
