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
    result = _django_check({"DEBUG": "false", "SECRET_KEY": "", "ALLOWED_HOSTS": "clinic.example"}, "--deploy")
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


# Fail closed: production unless DEBUG=true is said in so many words ------------------------

PRODUCTION_KEY = "p" * 20 + "-a-long-random-production-secret-" + "q" * 20


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` after django.setup() in a fresh process whose environment has no DEBUG
    unless ``env`` gives one."""
    inherited = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run(  # noqa: S603 - our own settings
        [sys.executable, "-c", "import django\ndjango.setup()\n" + code],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "clinic.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_debug_in_the_environment_the_settings_are_production():
    result = _python(
        {"SECRET_KEY": PRODUCTION_KEY, "ALLOWED_HOSTS": "clinic.example"},
        "from django.conf import settings\n"
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT)\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]


@pytest.mark.parametrize("debug", [None, "false", "0", "no"])
def test_the_published_development_key_is_refused_unless_debug_is_true(debug):
    from clinic.settings import DEV_SECRET_KEY

    env = {"SECRET_KEY": DEV_SECRET_KEY, "ALLOWED_HOSTS": "clinic.example"}
    if debug is not None:
        env["DEBUG"] = debug
    result = _python(env, "print('started')")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is the published development key" in result.stderr
    assert "started" not in result.stdout


def test_without_debug_or_secret_key_the_message_says_what_to_set():
    result = _python({"SECRET_KEY": "", "ALLOWED_HOSTS": "clinic.example"}, "print('started')")
    assert result.returncode != 0
    assert "The environment variable SECRET_KEY must be set" in result.stderr
    assert "DEBUG=true for development" in result.stderr


def test_debug_true_keeps_the_development_defaults():
    result = _python(
        {"DEBUG": "true", "SECRET_KEY": ""},
        "from django.conf import settings\nprint(settings.DEBUG, settings.SECRET_KEY.startswith('django-insecure'))\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_production_shows_no_technical_error_pages():
    """With DEBUG unset, a missing page and a crash get the clinic's plain pages: no URL list,
    settings or traceback."""
    code = (
        "from django.core.handlers.exception import response_for_exception\n"
        "from django.test import Client, RequestFactory, override_settings\n"
        # Production serves hashed static names after collectstatic, which this test skips.
        "override_settings(STORAGES={'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},"
        " 'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}).enable()\n"
        "missing = Client().get('/no-such-page/', secure=True)\n"
        "print(missing.status_code)\n"
        "print('Using the URLconf' in missing.content.decode(), 'Page not found' in missing.content.decode())\n"
        "request = RequestFactory().get('/', secure=True)\n"
        "crash = response_for_exception(request, RuntimeError('secret detail of the crash'))\n"
        "body = crash.content.decode()\n"
        "print(crash.status_code)\n"
        "print('secret detail' in body or 'Traceback' in body, 'Something went wrong on our side' in body)\n"
    )
    result = _python({"SECRET_KEY": PRODUCTION_KEY, "ALLOWED_HOSTS": "testserver", "LOG_LEVEL": "CRITICAL"}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["404", "False", "True", "500", "False", "True"]


def test_manage_py_says_a_bad_environment_in_one_line():
    result = _django_check({"DEBUG": "", "SECRET_KEY": "", "ALLOWED_HOSTS": "clinic.example"}, "--deploy")
    assert result.returncode != 0
    assert result.stderr.startswith("manage.py: The environment variable SECRET_KEY must be set")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["check"], ["makemigrations", "--check", "--dry-run"]])
def test_schema_commands_run_on_a_bare_environment(command):
    """Reading the models and migrations needs no secret: a throwaway key stands in."""
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env={
            key: value
            for key, value in os.environ.items()
            if key not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_production_static_storage_answers_as_whitenoise_and_keeps_each_url(tmp_path, settings):
    import json

    from whitenoise.storage import CompressedManifestStaticFilesStorage

    from clinic.staticstorage import StaticStorage

    settings.DEBUG = False
    manifest = {"paths": {"css/clinic.css": "css/clinic.0123abcd.css"}, "version": "1.1", "hash": "x"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    ours = StaticStorage(location=tmp_path, base_url="/static/")
    theirs = CompressedManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    assert ours.url("css/clinic.css") == theirs.url("css/clinic.css") == "/static/css/clinic.0123abcd.css"
    ours.hashed_files = {}  # kept: the manifest is not looked at again
    assert ours.url("css/clinic.css") == "/static/css/clinic.0123abcd.css"
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        ours.url("css/unknown.css")
