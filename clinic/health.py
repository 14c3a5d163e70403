"""GET /healthz: is this web process fit to take requests? For load balancers and monitoring.

Answers 200 when every check passes and 503 when one fails, with JSON naming each check and
what went wrong. No login, no patient data, no session, not audited: a probe every few
seconds must cost little and reveal nothing. The checks: the database answers, no migration
is waiting to be applied, the broker answers a PING within HEALTH_BROKER_TIMEOUT_SECONDS,
and whatever the apps register (messaging: the oldest due outbox row is not too old). Each
check is a function returning a Check; apps register theirs in AppConfig.ready(), so this
module imports no domain app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


HealthCheck = Callable[[], Check]
_registered: list[HealthCheck] = []


def register(check: HealthCheck) -> HealthCheck:
    """Add a check that needs the database (run only when the database answers)."""
    if check not in _registered:
        _registered.append(check)
    return check


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return Check("database", False, f"unreachable ({type(error).__name__})")
    return Check("database", True)


@cache
def _migrations_on_disk() -> tuple[frozenset[tuple[str, str]], dict[tuple[str, str], list[tuple[str, str]]]]:
    """The migrations this code ships, read once per process (the files do not change under
    a running process), and which squashed migration replaces which."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaces = {key: list(migration.replaces) for key, migration in loader.replacements.items()}
    return frozenset(loader.graph.nodes), replaces


def migrations() -> Check:
    nodes, replacements = _migrations_on_disk()
    applied = set(MigrationRecorder(connection).applied_migrations())
    for squashed, replaced in replacements.items():
        if all(key in applied for key in replaced):
            applied.add(squashed)
    waiting = sorted(f"{app}.{name}" for app, name in nodes - applied)
    if waiting:
        return Check("migrations", False, f"{len(waiting)} not applied: {', '.join(waiting[:5])}")
    return Check("migrations", True)


def broker() -> Check:
    timeout = settings.HEALTH_BROKER_TIMEOUT_SECONDS
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=timeout, socket_timeout=timeout, retry_on_timeout=False
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        return Check("broker", False, f"unreachable ({type(error).__name__})")
    finally:
        client.close()
    return Check("broker", True)


def run_checks() -> list[Check]:
    checks = [database()]
    if checks[0].ok:
        checks.append(migrations())
        checks.extend(check() for check in _registered)
    checks.append(broker())
    return checks


@never_cache
@require_GET
def healthz(request):
    checks = run_checks()
    failed = [check.name for check in checks if not check.ok]
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "checks": {
            check.name: {"ok": check.ok, **({"detail": check.detail} if check.detail else {})} for check in checks
        },
    }
    return JsonResponse(body, status=503 if failed else 200)
