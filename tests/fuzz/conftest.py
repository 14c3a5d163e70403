"""One world of records per fuzz test module, built once: every request rolls back, so each
meets the same data. Production behaviour (DEBUG off) throughout."""

import logging

import pytest
import time_machine
from django.db import transaction
from django.test.utils import override_settings

from tests.fuzz.harness import Site
from tests.scheduling.conftest import NOW


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(DEBUG=False, PASSWORD_HASHERS=hashers),
        transaction.atomic(),
    ):
        try:
            yield Site()
        finally:
            transaction.set_rollback(True)


@pytest.fixture
def fuzz(site, django_db_blocker):
    """The site, with its problems reset; Django's log of each crash is silenced (the test
    reports them, one line per cause)."""
    site.recorder.problems.clear()
    request_log = logging.getLogger("django.request")
    request_log.disabled = True
    try:
        yield site
    finally:
        request_log.disabled = False
