"""Writes on staff accounts. Each takes the ``Actor`` who acts (checked by the access helper
before) and records what it did in the audit trail, in the same transaction."""

from __future__ import annotations

import logging
import secrets
import smtplib

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import roles
from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry

logger = logging.getLogger(__name__)

ACCOUNT = "staff account"
RECOVERY_CODE_COUNT = 10


def _record(actor: Actor, action: str, account) -> None:
    audit_record(actor=actor, action=action, patient=None, obj=account, object_type=ACCOUNT)


def _apply_roles(account, role_names: list[str]) -> None:
    unknown = set(role_names) - set(roles.ALL_ROLES)
    if unknown:
        raise ValidationError(f"Unknown role: {', '.join(sorted(unknown))}.")
    if not role_names:
        raise ValidationError("Choose at least one role; to take all access away, deactivate the account.")
    account.groups.set(Group.objects.filter(name__in=role_names))
    # The Administration (formulary, practitioners, consent texts) is for managers; a
    # superuser keeps it whatever their roles.
    account.is_staff = account.is_superuser or roles.MANAGER in role_names
    account.save(update_fields=["is_staff"])
    account._clinic_roles = frozenset(role_names)


@transaction.atomic
def staff_invite(*, actor: Actor, username: str, first_name: str, last_name: str, email: str, role_names: list[str]):
    """A new account with no usable password: its owner sets one from the invitation link,
    which the caller sends with ``invitation_send`` once this has committed."""
    account = get_user_model()(username=username, first_name=first_name, last_name=last_name, email=email)
    account.set_unusable_password()
    account.full_clean()
    account.save()
    _apply_roles(account, role_names)
    _record(actor, AuditEntry.Action.INVITE, account)
    return account


@transaction.atomic
def staff_invite_again(*, actor: Actor, account) -> None:
    """Send a new invitation to an account whose owner never set a password."""
    if account.has_usable_password():
        raise ValidationError("This person has set a password already; they can log in.")
    if not account.is_active:
        raise ValidationError("Reactivate the account before inviting this person again.")
    _record(actor, AuditEntry.Action.INVITE, account)


def invitation_link(account) -> str:
    """A one-time link: the token hashes the password, so it stops working once the owner has
    set one (or anybody changed it), and after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(account.pk))
    token = default_token_generator.make_token(account)
    return settings.SITE_URL.rstrip("/") + reverse("accounts:invitation", args=[uid, token])


def invitation_send(*, account) -> bool:
    """Email the invitation; False when the mail server refused it (the account stays, and the
    invitation can be sent again from its page)."""
    # Staff email goes straight through Django's mail backend: the patient outbox (messaging/)
    # is for patients, with their consent and unsubscribe rules, and clinic/ may not use it.
    context = {
        "account": account,
        "link": invitation_link(account),
        "days": settings.PASSWORD_RESET_TIMEOUT // (24 * 60 * 60),
        "clinic_name": settings.CLINIC_NAME,
        "require_2fa": settings.REQUIRE_2FA,
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("accounts/email/invitation_body.txt", context),
        to=[account.email],
    )
    message.attach_alternative(render_to_string("accounts/email/invitation_body.html", context), "text/html")
    try:
        message.send()
    except (OSError, smtplib.SMTPException):
        logger.exception("The invitation email to staff account %s could not be sent", account.pk)
        return False
    return True


def invitation_accepted(*, actor: Actor, account) -> None:
    _record(actor, AuditEntry.Action.SET_PASSWORD, account)


@transaction.atomic
def staff_set_roles(*, actor: Actor, account, role_names: list[str]) -> bool:
    """Give ``account`` exactly ``role_names``; False when nothing changed (nothing recorded)."""
    if set(role_names) == set(account.groups.values_list("name", flat=True)):
        return False
    _apply_roles(account, role_names)
    _record(actor, AuditEntry.Action.CHANGE_ROLES, account)
    return True


@transaction.atomic
def staff_set_active(*, actor: Actor, account, active: bool) -> None:
    """A deactivated account cannot log in and its open sessions end at their next request."""
    if account.is_active == active:
        return
    account.is_active = active
    account.save(update_fields=["is_active"])
    _record(actor, AuditEntry.Action.REACTIVATE if active else AuditEntry.Action.DEACTIVATE, account)


@transaction.atomic
def staff_unlock(*, actor: Actor, account) -> int:
    """Forget the failed logins counted against the account's username. Failures counted
    against an address (someone guessing several usernames) stay until their cool-off."""
    count = AxesProxyHandler.reset_attempts(username=account.get_username())
    _record(actor, AuditEntry.Action.UNLOCK, account)
    return count


@transaction.atomic
def staff_reset_second_factor(*, actor: Actor, account) -> None:
    """Remove the account's authenticator and recovery codes: its sessions verified with them
    stop being verified, and the owner enrols again at the next page."""
    TOTPDevice.objects.filter(user=account).delete()
    StaticDevice.objects.filter(user=account).delete()
    _record(actor, AuditEntry.Action.RESET_2FA, account)


# -- the owner's own second factor ---------------------------------------------------------


def authenticator_pending(*, user) -> TOTPDevice:
    """The not yet confirmed authenticator that the enrolment page shows as a QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def authenticator_confirm(*, user, device: TOTPDevice) -> list[str]:
    """Confirm the authenticator; returns a fresh set of recovery codes (shown once)."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    return recovery_codes_renew(user=user)


@transaction.atomic
def recovery_codes_renew(*, user) -> list[str]:
    """Replace the recovery codes: ten one-time codes, each good for one login."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _recovery_code() -> str:
    # 10 characters of an unambiguous alphabet: about 50 bits, typed rarely and only once.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


@transaction.atomic
def second_factor_remove_own(*, user) -> None:
    if settings.REQUIRE_2FA:
        raise ValidationError("Two-factor authentication is required here; it cannot be turned off.")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
