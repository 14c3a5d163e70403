"""Creating and revoking API tokens."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fhirapi.models import SCOPE_CHOICES, ApiToken, hash_secret, new_secret

KNOWN_SCOPES = {value for value, _label in SCOPE_CHOICES}


@transaction.atomic
def api_token_create(*, name: str, scopes: list[str], created_by) -> tuple[ApiToken, str]:
    """A new token and its secret: the secret is returned this once and never stored."""
    if not scopes:
        raise ValidationError({"scopes": "Choose at least one scope."})
    unknown = set(scopes) - KNOWN_SCOPES
    if unknown:
        raise ValidationError({"scopes": f"Unknown scopes: {', '.join(sorted(unknown))}."})
    secret = new_secret()
    token = ApiToken(
        name=name.strip(),
        scopes=sorted(set(scopes)),
        token_hash=hash_secret(secret),
        token_hint=secret[:10],
        created_by=created_by,
    )
    token.full_clean()
    token.save()
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, revoked_by) -> ApiToken:
    """Revoke ``token`` (at once: the next request with it is refused). Revoking twice keeps
    the first revocation."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    token.refresh_from_db()
    if not updated and token.revoked_at is None:  # pragma: no cover - the row exists
        raise ValidationError("The token could not be revoked.")
    return token
