"""Access helper for staff accounts: every staff page loads the account through it.

What stops a manager from raising their own access: nobody manages their own account (roles,
deactivation, second factor), only a superuser manages a superuser, and nobody sets another
person's password anywhere (the invited person sets theirs from a one-time link).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

VIEW_STAFF = "auth.view_user"
INVITE_STAFF = "auth.add_user"
MANAGE_STAFF = "auth.change_user"


def require_perm(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def may_manage(actor, account) -> bool:
    """Whether ``actor`` may change ``account``'s roles, activation, lockout or second factor."""
    if not actor.has_perm(MANAGE_STAFF) or actor.pk == account.pk:
        return False
    return actor.is_superuser or not account.is_superuser


def get_staff_for(user, pk: int, *, manage: bool = False):
    """The account ``pk`` for a user who may see staff accounts; with ``manage``, only if the
    user may also change it (PermissionDenied otherwise, 404 when there is none)."""
    require_perm(user, VIEW_STAFF)
    account = get_object_or_404(get_user_model().objects.prefetch_related("groups"), pk=pk)
    if manage and not may_manage(user, account):
        raise PermissionDenied
    return account
