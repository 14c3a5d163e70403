"""Personas shared by the whole suite: two doctors, a receptionist, a manager, anonymous."""

import pytest
from django.test import Client

from tests.factories import DoctorFactory, ManagerFactory, ReceptionistFactory, mark_second_factor_verified
from tests.migration_data import restore_migration_data


@pytest.fixture
def doctor(db):
    return DoctorFactory(username="dr_ada", first_name="Ada", last_name="Okafor")


@pytest.fixture
def other_doctor(db):
    return DoctorFactory(username="dr_ben", first_name="Ben", last_name="Marsh")


@pytest.fixture
def receptionist(db):
    return ReceptionistFactory(username="rita", first_name="Rita", last_name="Lane")


@pytest.fixture
def manager(db):
    return ManagerFactory(username="mona", first_name="Mona", last_name="Hale")


@pytest.fixture
def doctor_client(client, doctor):
    client.force_login(doctor)
    return client


@pytest.fixture
def receptionist_client(client, receptionist):
    client.force_login(receptionist)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def anonymous_client(client):
    return client


_force_login_without_second_factor = Client.force_login


@pytest.fixture(autouse=True)
def _force_login_passes_second_factor(monkeypatch):
    """``client.force_login(user)`` logs a persona in as the login page and the code page
    together would: password and second factor (an authenticator device is made for them).
    Tests of the second factor itself use ``login_without_second_factor``."""

    def force_login(self, user, backend=None):
        _force_login_without_second_factor(self, user, backend)
        mark_second_factor_verified(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


def login_without_second_factor(client, user) -> None:
    """Logged in with the password only: the session has not passed the second factor."""
    _force_login_without_second_factor(client, user)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 work factor costs a third of a second per staff account.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def migration_data(transactional_db):
    """For tests that run in real transactions: the rows the data migrations made."""
    restore_migration_data()


@pytest.fixture(autouse=True)
def _migration_data_after_flush(request):
    """A transactional test (browser, threads, Celery) empties every table when it ends; put
    back what the data migrations made (roles, appointment types, consent texts, formulary)
    before the next one. Tests in a rolled-back transaction never see a flushed database:
    pytest-django runs them first."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if transactional or {"transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("migration_data")
