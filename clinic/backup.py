"""Backup and restore of the whole clinic: the PostgreSQL database and the private media
(clinical photos), with a manifest that lets a restore prove it got back what was saved.

A backup is one folder, ``clinic-backup-<UTC time>/``:

- ``database.dump``: ``pg_dump --format=custom`` of the database;
- ``media.tar``: PRIVATE_MEDIA_ROOT;
- ``manifest.json``: versions (PostgreSQL server and pg_dump, Python, Django), the migrations
  applied, the row count of every table, and the size and SHA-256 of both files.

The row counts and the dump come from one snapshot (``pg_export_snapshot`` shared with
``pg_dump --snapshot``), so they agree even while the clinic is open. The folder is written
under a temporary name and renamed when complete: a folder with a manifest is a whole backup.

A restore goes into an EMPTY database only (it never merges into or overwrites data), checks
every checksum before touching anything, runs ``pg_restore --single-transaction`` (all or
nothing), unpacks the media into an empty PRIVATE_MEDIA_ROOT, grants the application role its
privileges (clinic/dbroles.py), then compares the row counts with the manifest and verifies the
audit trail's hash chain. The audit table's triggers are part of the dump (post-data, created
after its rows are loaded), so the chain is restored as it was and guarded as before.

pg_dump and pg_restore must be at least as new as the server: ``pg_tool`` picks the binary whose
major version matches the server's (PG_BIN_DIR, ``pg_config --bindir``,
/usr/lib/postgresql/<major>/bin, then PATH).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import django
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

DUMP_NAME = "database.dump"
MEDIA_NAME = "media.tar"
MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


# Finding the PostgreSQL tools ---------------------------------------------------------------


def _major(version_text: str) -> int | None:
    """15 from "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"."""
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", version_text)
    return int(match.group(1)) if match else None


def _tool_major(path: Path) -> int | None:
    try:
        result = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except OSError:
        return None
    return _major(result.stdout) if result.returncode == 0 else None


def _candidate_dirs(server_major: int) -> list[Path]:
    dirs = []
    if os.environ.get("PG_BIN_DIR"):
        dirs.append(Path(os.environ["PG_BIN_DIR"]))
    dirs.append(Path(f"/usr/lib/postgresql/{server_major}/bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
        if result.returncode == 0 and result.stdout.strip():
            dirs.append(Path(result.stdout.strip()))
    dirs.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    return dirs


def pg_tool(name: str, server_major: int) -> Path:
    """The ``name`` binary (pg_dump, pg_restore) of the server's major version, or a newer one."""
    seen: list[str] = []
    candidates = [directory / name for directory in _candidate_dirs(server_major)]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    newer = None
    for path in candidates:
        if not path.is_file() or str(path) in seen:
            continue
        seen.append(str(path))
        major = _tool_major(path)
        if major == server_major:
            return path
        if major is not None and major > server_major and newer is None:
            newer = path
    if newer is not None:
        return newer
    raise BackupError(
        f"No {name} for PostgreSQL {server_major} was found (looked in {', '.join(seen) or 'nowhere'}). "
        f"Install the PostgreSQL {server_major} client tools or set PG_BIN_DIR."
    )


# Connections --------------------------------------------------------------------------------


def _libpq_env(db: dict) -> dict[str, str]:
    env = {**os.environ}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = sslmode
    return env


def _server_major(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def table_row_counts(connection) -> dict[str, int]:
    """Exact row counts of every table of the public schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - catalog names
            counts[table] = cursor.fetchone()[0]
    return counts


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# Backup -------------------------------------------------------------------------------------


def _applied_migrations(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app || '.' || name FROM django_migrations ORDER BY app, name")
        return [row[0] for row in cursor.fetchall()]


def _tar_media(media_root: Path, target: Path) -> int:
    count = 0
    with tarfile.open(target, "w") as archive:
        if media_root.is_dir():
            for path in sorted(media_root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=str(path.relative_to(media_root)), recursive=False)
                    count += 1
    return count


def backup_create(*, destination: Path, using: str = "default") -> Path:
    """Write a backup folder under ``destination`` and return its path."""
    connection = connections[using]
    db = connection.settings_dict
    destination.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    final = destination / f"clinic-backup-{stamp}"
    if final.exists():
        raise BackupError(f"{final} already exists: wait a second and try again.")
    partial = destination / f".clinic-backup-{stamp}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        server_major = _server_major(connection)
        pg_dump = pg_tool("pg_dump", server_major)
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                snapshot, server_version = cursor.fetchone()
            counts = table_row_counts(connection)
            migrations = _applied_migrations(connection)
            result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [
                    str(pg_dump),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={partial / DUMP_NAME}",
                    "--dbname",
                    db["NAME"],
                ],
                env=_libpq_env(db),
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        media_files = _tar_media(Path(settings.PRIVATE_MEDIA_ROOT), partial / MEDIA_NAME)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "database": db["NAME"],
            "versions": {
                "postgresql_server": server_version,
                "pg_dump": subprocess.run(  # noqa: S603
                    [str(pg_dump), "--version"], capture_output=True, text=True, check=False
                ).stdout.strip(),
                "python": platform.python_version(),
                "django": django.get_version(),
            },
            "migrations": migrations,
            "row_counts": counts,
            "media_files": media_files,
            "files": {
                name: {"sha256": sha256_of(partial / name), "bytes": (partial / name).stat().st_size}
                for name in (DUMP_NAME, MEDIA_NAME)
            },
        }
        (partial / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


# Restore ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreReport:
    tables: int
    rows: int
    media_files: int
    audit_entries: int


def manifest_read(backup: Path) -> dict:
    path = backup / MANIFEST_NAME
    if not backup.is_dir() or not path.is_file():
        raise BackupError(f"{backup} is not a backup folder: it has no {MANIFEST_NAME}.")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"{path} is not valid JSON ({error}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{path} is not a manifest this version can read (format {FORMAT_VERSION}).")
    return manifest


def backup_verify(backup: Path) -> dict:
    """Check every file against the manifest's size and SHA-256; return the manifest."""
    manifest = manifest_read(backup)
    for name in (DUMP_NAME, MEDIA_NAME):
        expected = manifest.get("files", {}).get(name)
        path = backup / name
        if not expected:
            raise BackupError(f"The manifest does not list {name}.")
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup.")
        if path.stat().st_size != expected["bytes"] or sha256_of(path) != expected["sha256"]:
            raise BackupError(f"{name} does not match its checksum in the manifest: the backup is damaged.")
    return manifest


def target_database(url: str | None) -> dict:
    """The settings of the database to restore into: ``url``, or the configured database."""
    if url:
        from clinic.settings import database_from_url

        db = database_from_url(url)
    else:
        db = dict(connections["default"].settings_dict)
    # The restore creates and owns the tables: never as the application role (DATABASE_ROLE).
    db["OPTIONS"] = {key: value for key, value in (db.get("OPTIONS") or {}).items() if key != "assume_role"}
    return db


def _open_target(db: dict):
    """A connection of its own to the target database, outside django.db.connections (which
    holds the configured database only). Django's own alias for such side connections keeps
    django.contrib.postgres from looking it up among the configured ones."""
    from django.db.backends.base.base import NO_DB_ALIAS
    from django.db.backends.postgresql.base import DatabaseWrapper

    configured = connections.configure_settings({"default": dict(connections["default"].settings_dict), "target": db})
    return DatabaseWrapper(configured["target"], alias=NO_DB_ALIAS)


def _refuse_non_empty(connection, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
            "AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast_temp%%' "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
        )
        relations = cursor.fetchone()[0]
    if relations:
        raise BackupError(
            f"The database {name} is not empty ({relations} tables, views or sequences): restore only "
            "goes into an empty database. Create a new one (createdb) and point --database-url at it."
        )


def _refuse_non_empty_media(media_root: Path) -> None:
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(
            f"{media_root} is not empty: restore unpacks the photos only into an empty folder. "
            "Move it aside or set PRIVATE_MEDIA_ROOT (or --media-root) to a new folder."
        )


def _extract_media(archive_path: Path, media_root: Path) -> int:
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path) as archive:
        members = [member for member in archive.getmembers() if member.isfile()]
        # The "data" filter refuses absolute paths, "..", links out of the folder and devices.
        archive.extractall(media_root, members=members, filter="data")
    return len(members)


def backup_restore(*, backup: Path, database_url: str | None = None, media_root: Path | None = None) -> RestoreReport:
    from clinic.audit import audit_chain_check
    from clinic.dbroles import app_role_exists, grant_app_role

    manifest = backup_verify(backup)
    db = target_database(database_url)
    media_root = Path(media_root or settings.PRIVATE_MEDIA_ROOT)
    target = _open_target(db)
    try:
        try:
            _refuse_non_empty(target, db["NAME"])
            server_major = _server_major(target)
        except BackupError:
            raise
        except Exception as error:
            raise BackupError(f"Cannot connect to the database {db['NAME']}: {error}".strip()) from None
        _refuse_non_empty_media(media_root)
        pg_restore = pg_tool("pg_restore", server_major)
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [
                str(pg_restore),
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                "--dbname",
                db["NAME"],
                str(backup / DUMP_NAME),
            ],
            env=_libpq_env(db),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed, nothing was restored: {result.stderr.strip()}")
        media_files = _extract_media(backup / MEDIA_NAME, media_root)
        role = settings.DATABASE_APP_ROLE
        if role and app_role_exists(target, role):
            grant_app_role(target, role)
        counts = table_row_counts(target)
        expected = manifest["row_counts"]
        if counts != expected:
            different = sorted(name for name in set(counts) | set(expected) if counts.get(name) != expected.get(name))
            raise BackupError(f"The restored row counts differ from the manifest in: {', '.join(different)}.")
        chain = audit_chain_check(target)
        if not chain.intact:
            raise BackupError(f"The restored audit trail is broken at entry #{chain.broken_at}: {chain.problem}.")
        return RestoreReport(
            tables=len(counts), rows=sum(counts.values()), media_files=media_files, audit_entries=chain.entries
        )
    finally:
        target.close()
