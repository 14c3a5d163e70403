"""Failed logins lock a username and an address (django-axes), on the staff and admin logins."""

import datetime
import importlib

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import clinic.settings as clinic_settings
from clinic.models import AuditEntry
from tests.factories import PASSWORD, authenticator_for

pytestmark = pytest.mark.django_db

LOGINS = {"app": "login", "admin": "admin:login"}


def _attempt(client, login: str, username: str, password: str):
    return client.post(reverse(LOGINS[login]), {"username": username, "password": password, "next": "/"})


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _lock(client, login, username, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, login, username, "wrong password")


@pytest.mark.parametrize("login", LOGINS)
def test_right_password_is_refused_after_too_many_failures(login, doctor, settings):
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _attempt(client, login, doctor.username, f"guess {attempt}").status_code == 200
    response = _attempt(client, login, doctor.username, "last guess")
    assert response.status_code == 429
    response = _attempt(client, login, doctor.username, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _logged_in(client)


def test_fifty_guesses_never_get_through(doctor):
    client = Client()
    for attempt in range(50):
        _attempt(client, "app", doctor.username, f"guess {attempt}")
    assert _attempt(client, "app", doctor.username, PASSWORD).status_code == 429
    assert not _logged_in(client)


def test_a_username_is_locked_from_every_address(doctor, settings):
    _lock(Client(REMOTE_ADDR="198.51.100.1"), "app", doctor.username, settings)
    elsewhere = Client(REMOTE_ADDR="198.51.100.2")
    assert _attempt(elsewhere, "app", doctor.username, PASSWORD).status_code == 429
    assert not _logged_in(elsewhere)


def test_an_address_guessing_many_usernames_is_locked(doctor, other_doctor, receptionist, settings):
    client = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "app", f"guess{number}", "wrong")
    assert _attempt(client, "app", doctor.username, PASSWORD).status_code == 429
    # The same person from another address is not affected.
    assert _attempt(Client(REMOTE_ADDR="198.51.100.8"), "app", doctor.username, PASSWORD).status_code == 302


def test_lockout_is_written_once_to_the_audit_trail_with_the_client_address(doctor, settings):
    client = Client(REMOTE_ADDR="203.0.113.9")
    _lock(client, "app", doctor.username, settings)
    for _ in range(3):
        _attempt(client, "app", doctor.username, PASSWORD)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LOCKOUT)
    assert (entry.user, entry.object_type, entry.object_id) == (None, "staff account", str(doctor.pk))
    assert entry.ip_address == "203.0.113.9"
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_lockout_ends_after_the_cool_off(doctor, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        _lock(client, "app", doctor.username, settings)
    with time_machine.travel(start + datetime.timedelta(minutes=14), tick=False):
        assert _attempt(client, "app", doctor.username, PASSWORD).status_code == 429
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        assert _attempt(client, "app", doctor.username, PASSWORD).status_code == 302
        assert _logged_in(client)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LOGIN_FAILURE_LIMIT": "3", "LOGIN_COOLOFF_MINUTES": "45"}, (3, datetime.timedelta(minutes=45))),
        ({"LOGIN_FAILURE_LIMIT": "0"}, ImproperlyConfigured),
        ({"LOGIN_COOLOFF_MINUTES": "soon"}, ImproperlyConfigured),
    ],
)
def test_limit_and_cool_off_come_from_the_environment(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        if expected is ImproperlyConfigured:
            with pytest.raises(ImproperlyConfigured):
                importlib.reload(clinic_settings)
        else:
            reloaded = importlib.reload(clinic_settings)
            assert expected == (reloaded.AXES_FAILURE_LIMIT, reloaded.AXES_COOLOFF_TIME)
    finally:
        for name in env:
            monkeypatch.delenv(name)
        importlib.reload(clinic_settings)


def test_manager_sees_and_unlocks_a_locked_account(manager_client, manager, doctor, settings):
    client = Client()
    _lock(client, "app", doctor.username, settings)
    assert "Locked out" in manager_client.get(reverse("accounts:staff_list")).content.decode()
    assert "Locked out" in manager_client.get(reverse("accounts:staff_detail", args=[doctor.pk])).content.decode()

    response = manager_client.post(reverse("accounts:staff_unlock", args=[doctor.pk]))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNLOCK)
    assert (entry.user, entry.object_id) == (manager, str(doctor.pk))
    assert "Locked out" not in manager_client.get(reverse("accounts:staff_list")).content.decode()
    assert _attempt(client, "app", doctor.username, PASSWORD).status_code == 302
    assert _logged_in(client)


def test_a_locked_admin_login_stays_locked_for_a_superuser(superuser, settings):
    authenticator_for(superuser)
    client = Client()
    _lock(client, "admin", superuser.username, settings)
    assert _attempt(client, "admin", superuser.username, PASSWORD).status_code == 429
    assert not _logged_in(client)
