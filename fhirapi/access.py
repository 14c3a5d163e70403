"""Who is reading the API and what they may read.

Two kinds of caller: a staff member's browser session (what their role may see on the pages:
clinical resources need VIEW_CLINICAL, so receptionists and managers get Patient,
Appointment and Practitioner only), or a client system with an API token (what its scopes
say). A request that carries an Authorization header is judged by it alone, never by a
session cookie. Every read is one audit entry, made here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils import timezone

from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry
from clinic.permissions import VIEW_APPOINTMENT, VIEW_CLINICAL, VIEW_PATIENT, VIEW_PRACTITIONER
from fhirapi.models import RESOURCE_TYPES, ApiToken, hash_secret

SESSION_PERMISSIONS = {
    "Patient": VIEW_PATIENT,
    "Appointment": VIEW_APPOINTMENT,
    "Practitioner": VIEW_PRACTITIONER,
}
AUDIT_TYPE_LENGTH = 60  # AuditEntry.object_type


class ApiRefusal(Exception):
    """The request is answered with ``status`` and an OperationOutcome saying ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class ApiCaller:
    actor: Actor
    token: ApiToken | None = None

    def may_read(self, resource_type: str) -> bool:
        if self.token is not None:
            return self.token.allows(resource_type)
        return self.actor.user.has_perm(SESSION_PERMISSIONS.get(resource_type, VIEW_CLINICAL))

    def readable_types(self) -> list[str]:
        return [resource_type for resource_type in RESOURCE_TYPES if self.may_read(resource_type)]

    def require(self, resource_type: str) -> None:
        if not self.may_read(resource_type):
            who = "This token's scopes do not" if self.token else "Your role does not"
            raise ApiRefusal(403, "forbidden", f"{who} allow reading {resource_type} resources.")

    def audit(self, *, what: str, patient=None, obj=None) -> AuditEntry:
        """One entry per request: ``what`` names the resource type and the interaction."""
        object_type = f"FHIR {what}"
        if self.token is not None:
            object_type += f", token #{self.token.pk} {self.token.name}"
        return audit_record(
            actor=self.actor,
            action=AuditEntry.Action.VIEW,
            patient=patient,
            obj=obj,
            object_type=object_type[:AUDIT_TYPE_LENGTH],
        )


def api_caller_for(request: HttpRequest) -> ApiCaller:
    header = request.headers.get("Authorization")
    ip_address = request.META.get("REMOTE_ADDR") or None
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiRefusal(401, "login", "Send the API token as 'Authorization: Bearer <token>'.")
        token = ApiToken.objects.select_related("created_by").filter(token_hash=hash_secret(secret.strip())).first()
        if token is None:
            raise ApiRefusal(401, "login", "This API token is not known.")
        if token.is_revoked:
            raise ApiRefusal(401, "expired", "This API token was revoked.")
        # Reads are audited under the manager who created the token (and the token's name).
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return ApiCaller(actor=Actor(user=token.created_by, ip_address=ip_address), token=token)
    if request.user.is_authenticated:
        return ApiCaller(actor=Actor.from_request(request))
    raise ApiRefusal(401, "login", "Sign in, or send an API token as 'Authorization: Bearer <token>'.")
