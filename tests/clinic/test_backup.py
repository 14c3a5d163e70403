"""manage.py backup and restore: a factory-built clinic with a photo round-trips into a fresh
database (made and dropped here) with the same rows in every table, the same photo bytes and
an intact audit chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from io import BytesIO
from pathlib import Path

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image

from clinic.audit import Actor, audit_record
from clinic.backup import DUMP_NAME, MANIFEST_NAME, pg_tool, table_row_counts
from clinic.models import AuditEntry
from tests.factories import ConsentRecordFactory, HistoryItemFactory
from tests.messaging.factories import ScheduledMessageFactory
from tests.scheduling.factories import AppointmentFactory
from tests.treatments.factories import ActivePlanFactory, SignedSessionFactory
from treatments.models import Photo
from treatments.photos import photo_path, photo_upload

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def _server_params() -> dict:
    db = connection.settings_dict
    return {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"] or None}


def _url(name: str) -> str:
    db = connection.settings_dict
    user = f"{db['USER']}@" if db["USER"] else ""
    return f"postgres://{user}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.fixture
def throwaway_database():
    name = f"test_restore_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(dbname="postgres", **_server_params())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _counts_of(name: str) -> dict[str, int]:
    target = psycopg2.connect(dbname=name, **_server_params())
    try:
        with target.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
            )
            tables = [row[0] for row in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - catalog names
                counts[table] = cursor.fetchone()[0]
        return counts
    finally:
        target.close()


def _clinic_with_a_photo(media: Path) -> Photo:
    plan = ActivePlanFactory()
    session = SignedSessionFactory(plan=plan, number=1)
    HistoryItemFactory(patient=plan.patient)
    ConsentRecordFactory(patient=plan.patient)
    ConsentRecordFactory(patient=plan.patient, procedure="photography")
    AppointmentFactory(patient=plan.patient)
    ScheduledMessageFactory(patient=plan.patient)
    image = BytesIO()
    Image.new("RGB", (16, 16), "teal").save(image, format="PNG")
    photo = photo_upload(
        session=session,
        upload=SimpleUploadedFile("face.png", image.getvalue(), "image/png"),
        kind=Photo.Kind.BEFORE,
        view="front",
        actor=Actor(user=session.doctor),
    )
    for _ in range(3):
        audit_record(actor=Actor(user=session.doctor), action=AuditEntry.Action.VIEW, patient=plan.patient, obj=photo)
    return photo


def test_backup_round_trips_the_clinic_into_a_fresh_database(migration_data, settings, tmp_path, throwaway_database):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    photo = _clinic_with_a_photo(settings.PRIVATE_MEDIA_ROOT)
    original_bytes = photo_path(photo).read_bytes()
    source_counts = table_row_counts(connection)
    assert source_counts["treatments_photo"] == 1
    assert source_counts["clinic_auditentry"] >= 4

    call_command("backup", destination=tmp_path / "backups")
    (backup,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((backup / MANIFEST_NAME).read_text())
    assert manifest["row_counts"] == source_counts
    assert "patients.0006_erasure_requests" in manifest["migrations"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert manifest["versions"]["postgresql_server"] == cursor.fetchone()[0]
    assert len(manifest["files"][DUMP_NAME]["sha256"]) == 64

    restored_media = tmp_path / "restored-media"
    call_command("restore", str(backup), database_url=_url(throwaway_database), media_root=restored_media)

    assert _counts_of(throwaway_database) == source_counts
    assert (restored_media / "treatment_photos" / photo.path).read_bytes() == original_bytes
    # The audit trail's guards came back, and the chain verifies with the usual command.
    verify = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "verify_audit"],
        env={**os.environ, "DATABASE_URL": _url(throwaway_database), "DATABASE_ROLE": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    assert f"{source_counts['clinic_auditentry']} entries" in verify.stdout
    target = psycopg2.connect(dbname=throwaway_database, **_server_params())
    try:
        with target.cursor() as cursor:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'clinic_auditentry'::regclass")
            triggers = {row[0] for row in cursor.fetchall()}
    finally:
        target.close()
    assert {"clinic_auditentry_append_only", "clinic_auditentry_chain", "clinic_auditentry_no_truncate"} <= triggers

    # A second restore into the now non-empty database is refused with a clear message.
    with pytest.raises(CommandError, match="is not empty"):
        call_command("restore", str(backup), database_url=_url(throwaway_database), media_root=tmp_path / "other")


def test_restore_checks_the_checksums_before_touching_anything(migration_data, settings, tmp_path, throwaway_database):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    call_command("backup", destination=tmp_path / "backups")
    (backup,) = (tmp_path / "backups").iterdir()
    with (backup / DUMP_NAME).open("r+b") as dump:
        dump.seek(100)
        byte = dump.read(1)
        dump.seek(100)
        dump.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(CommandError, match=r"database\.dump does not match its checksum"):
        call_command("restore", str(backup), database_url=_url(throwaway_database), media_root=tmp_path / "restored")
    assert _counts_of(throwaway_database) == {}
    assert not (tmp_path / "restored").exists()


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path):
    with pytest.raises(CommandError, match="is not a backup folder"):
        call_command("restore", str(tmp_path))


def test_restore_refuses_the_configured_database_when_it_has_data(migration_data, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    call_command("backup", destination=tmp_path / "backups")
    (backup,) = (tmp_path / "backups").iterdir()
    with pytest.raises(CommandError, match="restore only goes into an empty database"):
        call_command("restore", str(backup), media_root=tmp_path / "restored")


def test_pg_tools_match_the_server_version():
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    for name in ("pg_dump", "pg_restore"):
        version = subprocess.run(  # noqa: S603
            [str(pg_tool(name, major)), "--version"], capture_output=True, text=True, check=True
        ).stdout
        assert f"(PostgreSQL) {major}." in version
