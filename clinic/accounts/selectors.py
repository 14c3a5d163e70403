"""Reads for the staff pages."""

from __future__ import annotations

from collections.abc import Iterable

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet, Sum
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts.services import ACCOUNT
from clinic.models import AuditEntry


def staff_accounts() -> QuerySet:
    """Every account, active ones first, each with ``has_second_factor``."""
    confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        get_user_model()
        .objects.prefetch_related("groups")
        .annotate(has_second_factor=Exists(confirmed))
        .order_by("-is_active", "username")
    )


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def locked_usernames(usernames: Iterable[str]) -> set[str]:
    """Which of ``usernames`` are locked out now (failures within the cool-off at the limit)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(username__in=list(usernames), attempt_time__gte=since)
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return {row["username"] for row in rows}


def account_history(account) -> QuerySet[AuditEntry]:
    """What was done to this account (invitations, roles, lockouts...), newest first. Its own
    sign-ins and sign-outs are in the audit trail, not in this list."""
    sign_in_events = [AuditEntry.Action.LOGIN, AuditEntry.Action.LOGOUT, AuditEntry.Action.LOGIN_FAILED]
    return (
        AuditEntry.objects.filter(object_type=ACCOUNT, object_id=str(account.pk))
        .exclude(action__in=sign_in_events)
        .select_related("user")
        .order_by("-at", "-id")
    )
