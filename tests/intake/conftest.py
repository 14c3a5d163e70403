from tests.scheduling.conftest import frozen_now, patient, practitioner, room  # noqa: F401 - shared fixtures
