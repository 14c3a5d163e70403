"""Writing the audit trail.

Services that change clinical data take an ``Actor`` (who, from where) and record the
change in the same transaction; views that show clinical data record one VIEW entry per
record shown. An entry never holds the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest

from clinic.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    user: object
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        # REMOTE_ADDR is what the web server saw; behind a proxy, have the proxy set it.
        return cls(user=request.user, ip_address=request.META.get("REMOTE_ADDR") or None)


def audit_record(
    *,
    actor: Actor,
    action: str,
    patient,
    obj: models.Model | None = None,
    object_type: str | None = None,
) -> AuditEntry:
    if object_type is None:
        if obj is None:
            raise ValueError("audit_record needs obj or object_type")
        object_type = str(obj._meta.verbose_name)
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        user=user,
        patient=patient,
        action=action,
        object_type=object_type,
        object_id=str(obj.pk) if obj is not None else "",
        ip_address=actor.ip_address,
    )


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    broken_at: int | None = None  # chain_seq (or id, when the entry has no place) of the first break
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


CHAIN_SQL = """
SELECT a.id, a.chain_seq, a.prev_hash, a.row_hash, clinic_auditentry_digest(a)
FROM clinic_auditentry a ORDER BY a.chain_seq NULLS FIRST, a.id
"""
GENESIS_HASH = "0" * 64


def audit_chain_check(connection=None) -> ChainCheck:
    """Walk the whole trail in chain order and name the first entry that breaks the chain:
    one changed since it was written, one missing before it, or one not chained at all.
    ``connection``: another database's (a restore checks the one it restored into)."""
    if connection is None:
        from django.db import connection

    expected_seq, previous_hash, count = 1, GENESIS_HASH, 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(CHAIN_SQL)
        for entry_id, seq, prev_hash, row_hash, digest in cursor:
            count += 1
            if seq is None:
                return ChainCheck(count, entry_id, f"entry id {entry_id} is not in the chain")
            if seq != expected_seq:
                missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}-#{seq - 1}"
                return ChainCheck(count, seq, f"entry {missing} is missing before entry #{seq}")
            if prev_hash != previous_hash:
                return ChainCheck(count, seq, f"entry #{seq} does not follow the entry before it")
            if row_hash != digest:
                return ChainCheck(count, seq, f"entry #{seq} (id {entry_id}) was changed after it was written")
            expected_seq, previous_hash = seq + 1, row_hash
    return ChainCheck(count)
