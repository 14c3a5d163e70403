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
LOGGED_IN_AT_KEY = "clinic_logged_in_at"
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
    """A fresh login starts both clocks (connected to user_logged_in in clinic.apps)."""
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[LOGGED_IN_AT_KEY] = int(now)
        stamp_activity(request, now=now)


def _duration(seconds: int) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class IdleSessionTimeoutMiddleware:
    """Ends a login after SESSION_IDLE_TIMEOUT_SECONDS without a request, and in any case
    SESSION_COOKIE_AGE after it began (the session's own expiry slides forward each time the
    activity stamp is written, so the absolute limit is kept here). The next request goes to
    the login page with a message; an htmx request is told to load the login page whole."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.get(LOGGED_IN_AT_KEY)
            last = session.get(LAST_ACTIVITY_KEY)
            if isinstance(started, int) and now - started > settings.SESSION_COOKIE_AGE:
                return self._timed_out(request, f"Your login ended after {_duration(settings.SESSION_COOKIE_AGE)}.")
            if isinstance(last, int) and now - last > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                idle = _duration(settings.SESSION_IDLE_TIMEOUT_SECONDS)
                return self._timed_out(request, f"You were logged out after {idle} without activity.")
            if not isinstance(started, int):  # a session from before these stamps existed
                session[LOGGED_IN_AT_KEY] = int(now)
            if not isinstance(last, int) or now - last >= ACTIVITY_STAMP_GRANULARITY_SECONDS:
                stamp_activity(request, now=now)
        return self.get_response(request)

    def _timed_out(self, request: HttpRequest, reason: str) -> HttpResponseBase:
        logout(request)
        messages.info(request, f"{reason} Please log in again.")
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
