"""Nothing before the second factor: a logged-in user whose session has not passed it is sent
to enter a code (if they have an authenticator) or, when REQUIRE_2FA, to enrol one."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.http import urlencode

from clinic.accounts.selectors import has_second_factor

# The pages a half-logged-in user may reach: the two steps themselves, logging out, and the
# load balancers' health check (no data).
OPEN_BEFORE_SECOND_FACTOR = frozenset(
    {"logout", "accounts:verify", "accounts:enrol", "accounts:recovery_codes", "admin:logout", "healthz"}
)


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
