"""API tokens: how a client system (not a person at a browser) reads the FHIR API.

A manager creates a token for a named client with the scopes it needs; the secret is shown
once and only its SHA-256 is kept (the secret is 256 random bits, so a fast hash is enough:
there is nothing to guess). A revoked token stops working at once and stays listed.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

TOKEN_PREFIX = "clk_"  # noqa: S105 - marks a string as a clinic API token

# The resources the API serves. Patient, Appointment and Practitioner are desk facts; the
# others are clinical (VIEW_CLINICAL for a staff session).
DESK_TYPES = ("Patient", "Appointment", "Practitioner")
CLINICAL_TYPES = (
    "AllergyIntolerance",
    "Condition",
    "MedicationStatement",
    "Procedure",
    "Consent",
    "CarePlan",
    "Observation",
)
RESOURCE_TYPES = DESK_TYPES + CLINICAL_TYPES
ALL_SCOPE = "patient/*.read"


def scope_for(resource_type: str) -> str:
    return f"patient/{resource_type}.read"


SCOPE_CHOICES = [(ALL_SCOPE, "Every resource (patient/*.read)")] + [
    (scope_for(resource_type), f"{resource_type} ({scope_for(resource_type)})") for resource_type in RESOURCE_TYPES
]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet):
    def live(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    name = models.CharField(max_length=80, help_text="Who uses it, e.g. 'Lab results system'.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the secret, to recognise a token in the list (never enough to use it).
    token_hint = models.CharField(max_length=12, editable=False)
    scopes = ArrayField(models.CharField(max_length=40, choices=SCOPE_CHOICES))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        permissions = [
            ("revoke_apitoken", "Can revoke an API token"),
            # Not about tokens: the app's other way out of the clinic, the subject access export.
            ("export_patient_record", "Can produce a patient's subject access export"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(scopes=[]), name="apitoken_has_scopes"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True)
                | Q(revoked_at__isnull=False, revoked_by__isnull=False),
                name="apitoken_revocation_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_hint}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, resource_type: str) -> bool:
        return ALL_SCOPE in self.scopes or scope_for(resource_type) in self.scopes

    def get_scopes_display(self) -> list[str]:
        return list(self.scopes)
