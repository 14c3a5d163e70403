"""Writing the audit trail.

Services that change clinical data take an ``Actor`` (who, from where) and record the
change in the same transaction; views that show clinical data record one VIEW entry per
record shown. An entry never holds the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest

from clinic.client_address import client_ip
from clinic.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    user: object
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        return cls(user=request.user, ip_address=client_ip(request))


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
