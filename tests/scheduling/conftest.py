import datetime

import pytest
import time_machine

from tests.factories import PatientFactory
from tests.scheduling.factories import PractitionerFactory, RoomFactory

# Monday 7 January 2030, 08:00 in London (GMT, so also 08:00 UTC).
MONDAY = datetime.date(2030, 1, 7)
NOW = datetime.datetime(2030, 1, 7, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def room(db):
    return RoomFactory(name="Room 1")


@pytest.fixture
def room2(db):
    return RoomFactory(name="Room 2")


@pytest.fixture
def practitioner(doctor, room):
    return PractitionerFactory(user=doctor, default_room=room)


@pytest.fixture
def other_practitioner(other_doctor, room2):
    return PractitionerFactory(user=other_doctor, default_room=room2)


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Jane", last_name="Doe", email="jane@example.com")
