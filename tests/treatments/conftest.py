import pytest


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    # Photos go to a temporary private folder, never to the developer's var/private.
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
