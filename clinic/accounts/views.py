"""Staff accounts (for managers), the invitation link, and each person's second factor."""

from __future__ import annotations

import base64

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts import selectors, services
from clinic.accounts.access import INVITE_STAFF, VIEW_STAFF, get_staff_for, may_manage, require_perm
from clinic.accounts.forms import CodeForm, InviteForm, RolesForm, VerifyForm
from clinic.accounts.qr import qr_svg
from clinic.audit import Actor
from clinic.redirects import next_from

RECOVERY_CODES_SESSION_KEY = "clinic_recovery_codes"

# -- staff accounts (managers) -------------------------------------------------------------


@require_GET
@login_required
def staff_list(request):
    require_perm(request.user, VIEW_STAFF)
    accounts = list(selectors.staff_accounts())
    locked = selectors.locked_usernames(account.username for account in accounts)
    for account in accounts:
        account.is_locked_out = account.username in locked
    return render(request, "accounts/staff_list.html", {"accounts": accounts})


@require_http_methods(["GET", "POST"])
@login_required
def staff_invite(request):
    require_perm(request.user, INVITE_STAFF)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.staff_invite(
                actor=Actor.from_request(request),
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                role_names=data["roles"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _invitation_sent(request, account)
            return redirect("accounts:staff_detail", account.pk)
    return render(request, "accounts/staff_invite.html", {"form": form})


def _invitation_sent(request, account) -> None:
    if services.invitation_send(account=account):
        messages.success(request, f"An invitation to set a password was sent to {account.email}.")
    else:
        messages.warning(
            request, "The account is ready but the invitation email could not be sent; send it again below."
        )


@require_GET
@login_required
def staff_detail(request, pk: int):
    account = get_staff_for(request.user, pk)
    return _render_detail(request, account, RolesForm(initial={"roles": _role_names(account)}))


def _role_names(account) -> list[str]:
    return [group.name for group in account.groups.all()]


def _render_detail(request, account, roles_form, status=200):
    context = {
        "account": account,
        "roles": _role_names(account),
        "can_manage": may_manage(request.user, account),
        "is_self": account.pk == request.user.pk,
        "roles_form": roles_form,
        "has_second_factor": selectors.has_second_factor(account),
        "is_locked_out": account.username in selectors.locked_usernames([account.username]),
        "history": selectors.account_history(account)[:100],
    }
    return render(request, "accounts/staff_detail.html", context, status=status)


@require_POST
@login_required
def staff_roles(request, pk: int):
    account = get_staff_for(request.user, pk, manage=True)
    form = RolesForm(request.POST)
    if form.is_valid():
        try:
            changed = services.staff_set_roles(
                actor=Actor.from_request(request), account=account, role_names=form.cleaned_data["roles"]
            )
        except ValidationError as error:
            form.add_error("roles", error)
        else:
            messages.success(request, "Roles changed." if changed else "The roles were already these.")
            return redirect("accounts:staff_detail", account.pk)
    return _render_detail(request, account, form, status=400)


@require_POST
@login_required
def staff_deactivate(request, pk: int):
    account = get_staff_for(request.user, pk, manage=True)
    services.staff_set_active(actor=Actor.from_request(request), account=account, active=False)
    messages.success(request, f"{account.get_username()} can no longer log in.")
    return redirect("accounts:staff_detail", account.pk)


@require_POST
@login_required
def staff_reactivate(request, pk: int):
    account = get_staff_for(request.user, pk, manage=True)
    services.staff_set_active(actor=Actor.from_request(request), account=account, active=True)
    messages.success(request, f"{account.get_username()} can log in again.")
    return redirect("accounts:staff_detail", account.pk)


@require_POST
@login_required
def staff_unlock(request, pk: int):
    account = get_staff_for(request.user, pk, manage=True)
    services.staff_unlock(actor=Actor.from_request(request), account=account)
    messages.success(request, f"{account.get_username()} is unlocked and may try to log in again.")
    return redirect("accounts:staff_detail", account.pk)


@require_POST
@login_required
def staff_reset_second_factor(request, pk: int):
    account = get_staff_for(request.user, pk, manage=True)
    services.staff_reset_second_factor(actor=Actor.from_request(request), account=account)
    messages.success(
        request, f"Two-factor authentication of {account.get_username()} was reset; they enrol again at next login."
    )
    return redirect("accounts:staff_detail", account.pk)


@require_POST
@login_required
def staff_invite_again(request, pk: int):
    account = get_staff_for(request.user, pk, manage=True)
    try:
        services.staff_invite_again(actor=Actor.from_request(request), account=account)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _invitation_sent(request, account)
    return redirect("accounts:staff_detail", account.pk)


# -- the invitation link -------------------------------------------------------------------


class InvitationView(auth_views.PasswordResetConfirmView):
    """Django's password-reset confirmation: the token moves from the URL into the session
    before the form is shown, and stops working once a password is set. After it, the owner
    is logged in and, with REQUIRE_2FA, goes straight to enrolling an authenticator."""

    template_name = "accounts/invitation.html"
    post_reset_login = True
    post_reset_login_backend = "clinic.accounts.backends.StaffBackend"
    success_url = reverse_lazy("accounts:second_factor")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        services.invitation_accepted(actor=Actor.from_request(self.request), account=form.user)
        messages.success(self.request, "Your password is set.")
        return response


# -- one's own second factor ---------------------------------------------------------------


def _next_url(request, fallback: str = "home") -> str:
    return next_from(request, get=True) or reverse(fallback)


@require_GET
@login_required
def second_factor(request):
    user = request.user
    context = {
        "has_second_factor": selectors.has_second_factor(user),
        "recovery_codes_left": StaticDevice.objects.filter(user=user, token_set__isnull=False).count(),
        "require_2fa": settings.REQUIRE_2FA,
    }
    return render(request, "accounts/second_factor.html", context)


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@login_required
def enrol(request):
    if selectors.has_second_factor(request.user):
        messages.info(request, "You have an authenticator already. To change it, ask a manager to reset it.")
        return redirect("accounts:second_factor")
    device = services.authenticator_pending(user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            codes = services.authenticator_confirm(user=request.user, device=device)
            django_otp.login(request, device)
            request.session[RECOVERY_CODES_SESSION_KEY] = codes
            return redirect(reverse("accounts:recovery_codes") + "?" + urlencode({"next": _next_url(request)}))
        form.add_error("code", "That code is not right. Check the time on your phone and type the newest code.")
    context = {
        "form": form,
        "qr": mark_safe(qr_svg(device.config_url, label="QR code to add this account to an authenticator app")),  # noqa: S308 - SVG we drew
        "secret": base64.b32encode(device.bin_key).decode(),
        "next": _next_url(request),
    }
    return render(request, "accounts/enrol.html", context, status=400 if form.is_bound else 200)


@never_cache
@require_GET
@login_required
def recovery_codes(request):
    """The new recovery codes, shown once: they are not kept anywhere readable."""
    codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    if not codes:
        raise Http404("These recovery codes were shown already.")
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})


@require_POST
@login_required
def recovery_codes_renew(request):
    request.session[RECOVERY_CODES_SESSION_KEY] = services.recovery_codes_renew(user=request.user)
    return redirect("accounts:recovery_codes")


@require_POST
@login_required
def second_factor_remove(request):
    try:
        services.second_factor_remove_own(user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Two-factor authentication is off for your account.")
    return redirect("accounts:second_factor")


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@login_required
def verify(request):
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _match_code(user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(request, f"You used a recovery code; {left} left. Make new ones on your account page.")
            return redirect(_next_url(request))
        form.add_error("code", "That code is not right, or was used already. Wait for a new one and try again.")
    return render(request, "accounts/verify.html", {"form": form, "next": _next_url(request)})


def _match_code(user, code: str):
    """The device that accepts ``code``: six digits are for the authenticator, anything else
    a recovery code. Devices are locked while checking, and throttle repeated failures."""
    device_type = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        for device in device_type.objects.devices_for_user(user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device
    return None
