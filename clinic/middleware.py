"""Response headers and session rules that hold for every page of the clinic."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase

LAST_ACTIVITY_KEY = "clinic_last_activity"
# The session is written again only when the stamp is this stale: a page that fires many
# requests costs one session write a minute, not one per request.
ACTIVITY_STAMP_GRANULARITY_SECONDS = 60


def permissions_policy_header(policy: dict[str, tuple[str, ...]]) -> str:
    """PERMISSIONS_POLICY as the header says it: ``camera=(), geolocation=(self)``."""
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in policy.items())


class SecurityHeadersMiddleware:
    """Pages about patients must not be kept by browsers or proxies: every response to a
    logged-in user (pages, partials, downloads, 403 and 404 pages alike) is ``no-store``.
    Every response also carries the Permissions-Policy. Static files never reach this
    middleware (WhiteNoise in production, runserver's handler in development)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        self.permissions_policy = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store, private"
            response.headers.pop("Expires", None)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        return response


def stamp_activity(request: HttpRequest, *, now: float | None = None) -> None:
    request.session[LAST_ACTIVITY_KEY] = int(time.time() if now is None else now)


def stamp_activity_on_login(sender, request: HttpRequest, user, **kwargs) -> None:
    """A fresh login starts the idle clock (connected to user_logged_in in clinic.apps)."""
    if request is not None and hasattr(request, "session"):
        stamp_activity(request)


class IdleSessionTimeoutMiddleware:
    """Ends a login after SESSION_IDLE_TIMEOUT_SECONDS without a request, besides the
    absolute SESSION_COOKIE_AGE: the next request goes to the login page with a message
    (an htmx request is told to load the login page as a whole)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if isinstance(last, int) and now - last > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                return self._timed_out(request)
            if not isinstance(last, int) or now - last >= ACTIVITY_STAMP_GRANULARITY_SECONDS:
                stamp_activity(request, now=now)
        return self.get_response(request)

    def _timed_out(self, request: HttpRequest) -> HttpResponseBase:
        logout(request)
        minutes = max(1, round(settings.SESSION_IDLE_TIMEOUT_SECONDS / 60))
        messages.info(
            request,
            f"You were logged out after {minutes} minute{'s' if minutes != 1 else ''} without activity. "
            "Please log in again.",
        )
        # Come back to the page after logging in again; a form posted after the timeout is
        # not replayed.
        next_path = request.get_full_path() if request.method == "GET" else "/"
        if request.headers.get("HX-Request") == "true":
            # A partial would put the login page inside the calendar: load it as a page.
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            next_path = urlunsplit(("", "", current.path or "/", current.query, ""))
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(next_path).url
            return response
        return redirect_to_login(next_path)
