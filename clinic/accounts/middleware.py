"""Nothing before the second factor: a logged-in user whose session has not passed it is sent
to enter a code (if they have an authenticator) or, when REQUIRE_2FA, to enrol one."""

from __future__ import annotations

import functools

from django.conf import settings
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.functional import LazyObject, SimpleLazyObject, empty
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from clinic.accounts.selectors import has_second_factor

# The pages a half-logged-in user may reach: the two steps themselves, logging out, and the
# load balancers' health check (no data).
OPEN_BEFORE_SECOND_FACTOR = frozenset(
    {"logout", "accounts:verify", "accounts:enrol", "accounts:recovery_codes", "admin:logout", "healthz"}
)


class VerifiedDeviceMiddleware(OTPMiddleware):
    """django_otp's middleware (``request.user.is_verified()``: has this session passed the
    second factor?) without its query for the device. ``StaffBackend.get_user`` reads the
    user's confirmed devices with the user; the session's device counts when it is one of
    them, as django_otp's own check requires (the user's, and confirmed). The device itself is
    read only if something asks for it.

    Every request here asks for the user anyway (the idle-session and second-factor checks
    that follow), so ``request.user`` is the user itself rather than a lazy object wrapping
    another: each of the many reads of it a page makes then costs an attribute lookup."""

    def __call__(self, request):
        if self._is_async:
            return super().__call__(request)
        self._install_lazy_accessors(request)
        if hasattr(request, "user"):
            request.user = _loaded(request.user)
        return self.get_response(request)

    def _verify_user_sync(self, request, user):
        confirmed = getattr(user, "confirmed_devices", None)
        if confirmed is None:  # anonymous, or a user loaded by another backend
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
        if persistent_id:
            persistent_id = self._normalize_persistent_id(persistent_id)
            if persistent_id in confirmed:
                user.otp_device = SimpleLazyObject(functools.partial(Device.from_persistent_id, persistent_id))
            else:
                del request.session[DEVICE_ID_SESSION_KEY]
        return user


def _loaded(value):
    """What a lazy object stands for, loaded (through lazy objects wrapping lazy objects)."""
    while isinstance(value, LazyObject):
        if value._wrapped is empty:
            value._setup()
        value = value._wrapped
    return value


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and not _open_page(request.path_info):
            step = "accounts:verify" if has_second_factor(user) else "accounts:enrol" if settings.REQUIRE_2FA else None
            if step is not None:
                target = redirect(step)
                target["Location"] += "?" + urlencode({"next": request.get_full_path()})
                return target
        return self.get_response(request)


def _open_page(path: str) -> bool:
    try:
        return resolve(path).view_name in OPEN_BEFORE_SECOND_FACTOR
    except Resolver404:
        return False
