"""Sign-in events in the audit trail: django.contrib.auth's signals, connected in
ClinicConfig.ready(). A failed sign-in keeps the username tried, never the password."""

from __future__ import annotations

from clinic.audit import STAFF_ACCOUNT, Actor, audit_record, client_address
from clinic.models import AuditEntry


def _actor(request, user=None) -> Actor:
    # authenticate() may be called without a request (a shell, a test client's login()).
    return Actor(user=user, ip_address=client_address(request) if request is not None else None)


def record_login(sender, request, user, **kwargs) -> None:
    audit_record(
        actor=_actor(request, user), action=AuditEntry.Action.LOGIN, obj=user, object_type=STAFF_ACCOUNT,
        username=user.get_username(),
    )  # fmt: skip


def record_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in ``credentials``; only the username is kept.
    username = str(credentials.get("username") or "")
    audit_record(
        actor=_actor(request), action=AuditEntry.Action.LOGIN_FAILED, object_type=STAFF_ACCOUNT, username=username
    )


def record_logout(sender, request, user, **kwargs) -> None:
    if user is None:  # signing out without being signed in
        return
    audit_record(
        actor=_actor(request, user), action=AuditEntry.Action.LOGOUT, obj=user, object_type=STAFF_ACCOUNT,
        username=user.get_username(),
    )  # fmt: skip
