"""The client address of a request, as the audit trail and the login lockout both see it."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR: what the web server saw. Behind a reverse proxy, have the proxy set it
    (the one place to teach about trusted proxies: the audit and django-axes both call this)."""
    return request.META.get("REMOTE_ADDR") or None
