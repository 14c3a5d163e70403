"""What every signed-in request reads before its page: the session (clinic/sessions.py), the
user with their permissions, roles and confirmed devices (StaffBackend.get_user), whether the
session passed the second factor (VerifiedDeviceMiddleware), and the kept menu (base.html)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.roles import MANAGER
from tests.conftest import login_without_second_factor
from tests.factories import authenticator_for

pytestmark = pytest.mark.django_db


def _session_device(client, device) -> None:
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_a_signed_in_page_reads_session_and_user_in_two_statements(receptionist_client, django_assert_max_num_queries):
    receptionist_client.get(reverse("password_change"))  # the activity stamp is written once a minute
    with django_assert_max_num_queries(2):
        response = receptionist_client.get(reverse("password_change"))
    assert response.status_code == 200
    assert b"Rita Lane (Receptionist)" in response.content


def test_the_session_counts_as_verified_only_with_a_confirmed_device_of_the_user(client, doctor, settings):
    settings.REQUIRE_2FA = True
    device = authenticator_for(doctor)
    login_without_second_factor(client, doctor)
    page = reverse("patients:list")
    _session_device(client, device)
    assert client.get(page).status_code == 200

    device.confirmed = False
    device.save()
    response = client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:enrol"))
    assert DEVICE_ID_SESSION_KEY not in client.session  # forgotten, as django_otp forgets it

    someone_elses = authenticator_for(client_user := type(doctor).objects.create(username="dr_other"))
    assert client_user != doctor
    _session_device(client, someone_elses)
    assert client.get(page).status_code == 302

    mine = authenticator_for(doctor)
    _session_device(client, mine)
    assert client.get(page).status_code == 200
    TOTPDevice.objects.filter(pk=mine.pk).delete()  # reset by a manager: the next request asks again
    assert client.get(page).status_code == 302


def test_the_device_is_read_only_when_asked_for(rf, doctor, django_assert_num_queries):
    from clinic.accounts.backends import StaffBackend
    from clinic.accounts.middleware import VerifiedDeviceMiddleware

    device = authenticator_for(doctor)
    request = rf.get("/")
    request.session = {DEVICE_ID_SESSION_KEY: device.persistent_id}
    request.user = StaffBackend().get_user(doctor.pk)
    seen = {}

    def view(request):
        seen["user"] = request.user
        return None

    with django_assert_num_queries(0):
        VerifiedDeviceMiddleware(view)(request)
        assert seen["user"].is_verified()
    with django_assert_num_queries(1):
        assert seen["user"].otp_device.pk == device.pk


def test_an_expired_or_unknown_session_is_a_new_anonymous_one(receptionist_client):
    page = reverse("patients:list")
    assert receptionist_client.get(page).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = receptionist_client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    anonymous = Client()
    anonymous.cookies["sessionid"] = "x" * 32
    assert anonymous.get(page).url.startswith(reverse("login"))


def test_the_kept_menu_follows_the_permissions_and_name(receptionist, receptionist_client):
    page = reverse("password_change")
    first = receptionist_client.get(page).content.decode()
    assert reverse("patients:list") in first
    assert reverse("audit_list") not in first
    receptionist.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    second = receptionist_client.get(page).content.decode()
    assert f'href="{reverse("audit_list")}"' in second
    receptionist.groups.add(Group.objects.get(name=MANAGER))
    receptionist.first_name = "Rhiannon"
    receptionist.save()
    third = receptionist_client.get(page).content.decode()
    assert "Rhiannon Lane (Manager, Receptionist)" in third
    assert f'href="{reverse("accounts:staff_list")}"' in third
    receptionist.groups.clear()
    receptionist.user_permissions.clear()
    fourth = receptionist_client.get(page).content.decode()
    assert reverse("patients:list") not in fourth
    assert reverse("audit_list") not in fourth


def test_each_page_has_its_own_logout_token(receptionist_client):
    page = reverse("password_change")
    tokens = {
        receptionist_client.get(page).content.decode().split('action="/accounts/logout/">')[1][:200] for _ in range(2)
    }
    assert len(tokens) == 2  # the CSRF token is masked afresh each time: the form is not kept
