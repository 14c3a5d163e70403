import pytest

from tests.factories import UserFactory


@pytest.fixture
def superuser(db):
    return UserFactory(username="root_sam", is_superuser=True, is_staff=True)
