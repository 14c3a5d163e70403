"""Lockouts (django-axes) in the audit trail."""

from __future__ import annotations

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.shortcuts import render

from clinic.accounts.services import ACCOUNT
from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry


@receiver(user_locked_out, dispatch_uid="clinic.accounts.lockout")
def record_lockout(sender, request, username, ip_address, **kwargs):
    # Axes signals every refused attempt; only the failure that caused the lockout counted
    # (the refused ones after it are not counted, so they carry no failure count).
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return
    account = get_user_model().objects.filter(username=username).first() if username else None
    audit_record(
        actor=Actor(user=None, ip_address=ip_address),
        action=AuditEntry.Action.LOCKOUT,
        patient=None,
        obj=account,
        object_type=ACCOUNT if account is not None else "login (unknown username)",
    )


def login_username(request, credentials=None) -> str | None:
    """The username axes counts failures under (AXES_USERNAME_CALLABLE): the one typed, cut to
    what its table holds. No account has a longer name (usernames are at most 150 characters),
    so a longer one is counted, not stored whole, which PostgreSQL would refuse."""
    username = (credentials or {}).get("username") if credentials else request.POST.get("username")
    if username is None:
        return None
    return str(username)[: AccessAttempt._meta.get_field("username").max_length]


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (AXES_LOCKOUT_CALLABLE), on the staff and admin logins."""
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": settings.LOGIN_COOLOFF_MINUTES}
    return render(request, "registration/locked_out.html", context, status=429)
