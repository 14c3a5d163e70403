import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from clinic.settings import database_from_url, env_bool

ROOT = Path(__file__).resolve().parents[2]


def _django_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env={key: value for key, value in {**os.environ, **env}.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_database_url_is_parsed():
    db = database_from_url("postgres://alice:s%40cret@db.example:6543/clinic_prod?sslmode=require")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "alice",
        "s@cret",
        "db.example",
        "6543",
        "clinic_prod",
    )
    assert db["OPTIONS"]["sslmode"] == "require"


@pytest.mark.parametrize("url", ["mysql://x/y", "postgres://localhost"])
def test_bad_database_url_fails_loudly(url):
    with pytest.raises(ImproperlyConfigured):
        database_from_url(url)


def test_bad_boolean_fails_loudly(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", default=False)


def test_production_refuses_to_start_without_a_secret_key():
    result = _django_check({"DEBUG": "false", "SECRET_KEY": "", "ALLOWED_HOSTS": "clinic.example"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    env = {"DEBUG": "false", "SECRET_KEY": "k" * 30 + "-production-only-" + "z" * 30, "ALLOWED_HOSTS": "clinic.example"}
    result = _django_check(env, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_unknown_clinic_time_zone_fails_loudly():
    result = _django_check({"CLINIC_TIME_ZONE": "Mars/Olympus"})
    assert result.returncode != 0
    assert "CLINIC_TIME_ZONE" in result.stderr
