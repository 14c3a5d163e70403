"""Personas shared by the whole suite: two doctors, a receptionist, a manager, anonymous."""

import pytest

from tests.factories import DoctorFactory, ManagerFactory, ReceptionistFactory


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


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 work factor costs a third of a second per staff account.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
