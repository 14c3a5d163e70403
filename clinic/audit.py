"""Writing the audit trail.

Every row goes through ``audit_record`` (one way to write the table, so whatever the
database adds to each row is added to all). Who writes:

- services that change clinical data or contact details take an ``Actor`` (who, from where)
  and record the change in the same transaction;
- a page that shows clinical data or contact details records one read per request through
  ``audit_read``: one row, however many panels the page has (templates and template tags
  only display what the view loaded, they never write);
- access helpers refuse a record with ``AccessRefused``; ``AuditRefusalMiddleware`` records
  the refusal;
- sign-in, failed sign-in and sign-out are recorded by the receivers in clinic/signals.py.

An entry never holds the data itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connections, models, router
from django.http import HttpRequest

from clinic.models import AuditEntry

# object_type of the rows about a patient's demographics and contact details (not clinical).
CONTACT_DETAILS = "contact details"
PATIENT_SEARCH = "patient search"
STAFF_ACCOUNT = "staff account"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_address(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address: IPAddress, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(request: HttpRequest) -> str | None:
    """The address of whoever sent the request.

    REMOTE_ADDR is the peer that connected. Only when that peer is one of
    settings.TRUSTED_PROXIES is X-Forwarded-For believed, and then only its right-most
    address that is not itself a trusted proxy: everything to the left of it was written by
    the client and could be anything.
    """
    remote = _parse_address(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    proxies = [ipaddress.ip_network(proxy, strict=False) for proxy in settings.TRUSTED_PROXIES]
    if not _is_trusted(remote, proxies):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed(forwarded.split(",")):
        address = _parse_address(hop)
        if address is None:
            # Not written by a proxy we trust: nothing further left can be believed.
            break
        if not _is_trusted(address, proxies):
            return str(address)
    return str(remote)


@dataclass(frozen=True)
class Actor:
    user: object
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        return cls(user=getattr(request, "user", None), ip_address=client_address(request))


def audit_record(
    *,
    actor: Actor,
    action: str,
    patient=None,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    outcome: str = AuditEntry.Outcome.ALLOWED,
    query: str = "",
    username: str = "",
) -> AuditEntry:
    """Write one entry. ``obj`` names the record (its kind and id); ``object_type`` (and
    ``object_id``) name it when there is no object at hand or a more precise kind is due.
    ``patient`` may be a Patient or its id."""
    if object_type is None:
        if obj is None:
            raise ValueError("audit_record needs obj or object_type")
        object_type = str(obj._meta.verbose_name)
    if object_id is None:
        object_id = obj.pk if obj is not None else ""
    user = actor.user if getattr(actor.user, "is_authenticated", False) else None
    patient_id = getattr(patient, "pk", patient)
    entry = AuditEntry(
        user=user,
        patient_id=patient_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        outcome=outcome,
        query=query[: AuditEntry._meta.get_field("query").max_length],
        username=username[: AuditEntry._meta.get_field("username").max_length],
        ip_address=actor.ip_address,
    )
    _insert(entry)
    return entry


@cache
def _insert_statement() -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT of an entry, written out once from the model's fields: every page that shows
    a patient writes one, and the ORM took longer to build the statement than to send it."""
    fields = tuple(field for field in AuditEntry._meta.concrete_fields if not field.primary_key)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    returned = ", ".join(f'"{AuditEntry._meta.get_field(name).column}"' for name in _SET_BY_THE_DATABASE)
    sql = f'INSERT INTO "{AuditEntry._meta.db_table}" ({columns}) VALUES ({placeholders}) RETURNING {returned}'  # noqa: S608
    return sql, fields


# What the chain's trigger (migration 0005) writes into each row, read back into the entry.
_SET_BY_THE_DATABASE = ("id", "chain_seq", "prev_hash", "row_hash")


def _insert(entry: AuditEntry) -> None:
    """Save a new entry as ``entry.save()`` would (the model has no parents and no signal
    receivers), and read back what the database set."""
    sql, fields = _insert_statement()
    alias = router.db_for_write(AuditEntry)
    connection = connections[alias]
    values = [field.get_db_prep_save(field.pre_save(entry, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        for name, value in zip(_SET_BY_THE_DATABASE, cursor.fetchone(), strict=True):
            setattr(entry, name, value)
    entry._state.adding = False
    entry._state.db = alias


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


def audit_read(
    request: HttpRequest,
    *,
    patient,
    obj: models.Model | None = None,
    object_type: str | None = None,
    action: str = AuditEntry.Action.VIEW,
) -> AuditEntry:
    """Record that this request shows a patient's record (clinical data or contact details).
    Called once per page, by the view, just before it renders."""
    return audit_record(
        actor=Actor.from_request(request), action=action, patient=patient, obj=obj, object_type=object_type
    )


def audit_search(request: HttpRequest, *, query: str, object_type: str = PATIENT_SEARCH) -> AuditEntry:
    """Record a search: the text typed, never what it found."""
    return audit_record(
        actor=Actor.from_request(request), action=AuditEntry.Action.SEARCH, object_type=object_type, query=query
    )


class AccessRefused(PermissionDenied):
    """A user asked for a record their role may not open. Access helpers raise it (a 403,
    like any PermissionDenied); AuditRefusalMiddleware records the refusal."""

    def __init__(self, *, object_type: str, object_id: str | int = "", patient_id: int | None = None):
        super().__init__(f"Access to {object_type} refused.")
        self.object_type = object_type
        self.object_id = object_id
        self.patient_id = patient_id


def audit_refusal(request: HttpRequest, refusal: AccessRefused) -> AuditEntry:
    action = AuditEntry.Action.VIEW if request.method in {"GET", "HEAD"} else AuditEntry.Action.UPDATE
    return audit_record(
        actor=Actor.from_request(request),
        action=action,
        patient=refusal.patient_id,
        object_type=refusal.object_type,
        object_id=refusal.object_id,
        outcome=AuditEntry.Outcome.REFUSED,
    )


class AuditRefusalMiddleware:
    """Records every AccessRefused raised by a view, then lets Django answer 403 as usual."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, AccessRefused):
            audit_refusal(request, exception)
        return None
